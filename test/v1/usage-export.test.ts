import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageRepository } from '../../server/db/usage-repository.js';
import { ManualClock } from '../support/clock.js';
import { buildLicense } from '../support/fixtures.js';
import type { TestServer } from '../support/server.js';
import { licenseFor, productFor, startLicenseApiServer } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const USAGE_HEADER = 'license,scope,feature,device,tz,start,end,consumed,refunded,net,count';
const HEADER = 'id,scope,feature,device,amount,total_after,period_end,event,counted,request_id,idempotency_key,at';

/**
 * Ledger exports (GET /api/v1/licenses/{id}/ledger/ as CSV and NDJSON), streamed a page of the index at a time, and
 * usage report exports (GET /api/v1/licenses/{id}/usage/ and GET /api/v1/usage/): one row per license
 * and bucket, equal to the JSON reports; the product export covers every license (no pages), read a
 * page of licenses at a time.
 */
describe('Management API v1: ledger and usage exports', () => {
  const clock = new ManualClock(new Date('2026-11-01T10:00:00Z'));
  let t: TestServer;
  let client: V4Client;
  let otherKey: string;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock }));
    otherKey = (await t.createAccount('export-other')).credentials.managementApiKey;
  });
  afterAll(async () => t?.stop());

  async function get(licenseId: number, query: Record<string, string> = {}, headers: Record<string, string> = {}, key = t.credentials.managementApiKey) {
    const res = await fetch(`${t.baseUrl}/api/v1/licenses/${licenseId}/ledger/?${new URLSearchParams(query).toString()}`, { headers: { authorization: `Api-Key ${key}`, ...headers } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  /** Every entry of the JSON pages, in order. */
  async function pages(licenseId: number, query: Record<string, string> = {}): Promise<Json[]> {
    const out: Json[] = [];
    let cursor: string | undefined;
    do {
      const res = await get(licenseId, { ...query, page_size: '2', ...(cursor ? { cursor } : {}) });
      const body = JSON.parse(res.text) as Json;
      out.push(...body.results);
      cursor = body.next_cursor ?? undefined;
    } while (cursor);
    return out;
  }

  async function smallLedger() {
    clock.set('2026-11-05T08:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 100, allowNegative: true } });
    const consume = async (when: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      clock.set(when);
      const res = await client.post(body.feature ? 'add_feature_consumption' : 'add_consumption', { ...ids, ...body }, { headers });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    // An idempotency key with a comma and a quote: quoted, the quote doubled.
    const key = `order"${license.id}",1`;
    await consume('2026-11-05T09:00:00Z', { consumptions: 5 }, { 'Idempotency-Key': key, 'X-Request-Id': 'req-1' });
    await consume('2026-11-05T10:00:00Z', { consumptions: -2 });
    await consume('2026-11-06T10:00:00Z', { feature: 'api-calls', consumptions: 3 });
    const stored = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(stored).toHaveLength(3);
    const byAmount = (n: number) => stored.find((e) => e.amount === n)!;
    return { license, byAmount, key };
  }

  it('exports a small ledger as CSV: a header row, one RFC 4180 row per entry in ledger order, ISO dates; ?format=csv and Accept: text/csv alike', async () => {
    const { license, byAmount, key } = await smallLedger();
    const [a, b, c] = [byAmount(5), byAmount(-2), byAmount(3)];
    const expected =
      [
        HEADER,
        `${a.id},license,,${a.deviceId},5,5,,consumption_add,true,req-1,"${key.replaceAll('"', '""')}",2026-11-05T09:00:00.000Z`,
        `${b.id},license,,${b.deviceId},-2,3,,consumption_add,true,${b.requestId ?? ''},,2026-11-05T10:00:00.000Z`,
        `${c.id},feature,api-calls,${c.deviceId},3,3,,consumption_add,true,${c.requestId ?? ''},,2026-11-06T10:00:00.000Z`,
      ].join('\r\n') + '\r\n';
    const byQuery = await get(license.id, { format: 'csv' });
    expect(byQuery.status).toBe(200);
    expect(byQuery.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(byQuery.headers.get('transfer-encoding')).toBe('chunked');
    expect(byQuery.text).toBe(expected);
    const byAccept = await get(license.id, {}, { accept: 'text/csv' });
    expect(byAccept.status).toBe(200);
    expect(byAccept.text).toBe(expected);

    // A filter: the feature's entries only; a window of time.
    expect((await get(license.id, { format: 'csv', feature: 'api-calls' })).text).toBe(`${HEADER}\r\n${expected.split('\r\n')[3]}\r\n`);
    expect((await get(license.id, { format: 'csv', from: '2026-11-05T09:30:00Z', to: '2026-11-06T00:00:00Z' })).text).toBe(`${HEADER}\r\n${expected.split('\r\n')[2]}\r\n`);
  });

  it('exports NDJSON: one JSON entry per line, equal to the JSON pages, with the same filters', async () => {
    const { license } = await smallLedger();
    for (const [query, headers] of [
      [{ format: 'ndjson' }, {}],
      [{}, { accept: 'application/x-ndjson' }],
    ] as const) {
      const res = await get(license.id, query, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(res.text.endsWith('\n')).toBe(true);
      const lines = res.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
      expect(lines).toHaveLength(3);
      expect(lines).toEqual(await pages(license.id));
    }
    const feature = (await get(license.id, { format: 'ndjson', feature: 'api-calls' })).text.trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
    expect(feature).toEqual(await pages(license.id, { feature: 'api-calls' }));
    expect(feature.map((e) => e.amount)).toEqual([3]);
    // ?format=json keeps the page even when CSV is accepted.
    expect(JSON.parse((await get(license.id, { format: 'json' }, { accept: 'text/csv' })).text).results).toHaveLength(3);
  });

  it("answers errors in JSON before any row: another account's license 404, a bad range 400", async () => {
    const { license } = await smallLedger();
    const other = await get(license.id, { format: 'csv' }, {}, otherKey);
    expect(other.status).toBe(404);
    expect(JSON.parse(other.text)).toMatchObject({ status: 404, code: 'license_not_found' });
    const accepted = await get(license.id, {}, { accept: 'text/csv' }, otherKey);
    expect(accepted.status).toBe(404);
    expect(JSON.parse(accepted.text)).toMatchObject({ status: 404, code: 'license_not_found' });
    const bad = await get(license.id, { format: 'csv', from: '2026-11-06T00:00:00Z', to: '2026-11-05T00:00:00Z' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('streams a 10,000-entry ledger chunked, every entry once in ledger order, the CSV equal to the NDJSON', async () => {
    const { license } = await smallLedger();
    const model = t.server.db.models.LedgerEntry;
    const template = (await model.findOne({ licenseId: license.id }).lean<Record<string, unknown>>())!;
    const start = Date.parse('2026-11-10T00:00:00Z');
    const docs = Array.from({ length: 10_000 }, (_, i) => ({ ...template, _id: `bulk-${String(i).padStart(5, '0')}`, at: new Date(start + i * 1000), amount: 1, idempotencyKey: null, requestId: null }));
    await model.collection.insertMany(docs as never[]);
    const range = { from: '2026-11-10T00:00:00Z', to: '2026-11-11T00:00:00Z' };

    const csv = await get(license.id, { ...range, format: 'csv' });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('transfer-encoding')).toBe('chunked');
    expect(csv.headers.get('content-length')).toBeNull();
    const rows = csv.text.split('\r\n');
    expect(rows[0]).toBe(HEADER);
    expect(rows.at(-1)).toBe('');
    expect(rows).toHaveLength(10_002);
    expect(rows.slice(1, -1).map((r) => r.split(',')[0])).toEqual(docs.map((d) => d._id));

    const nd = await get(license.id, { ...range, format: 'ndjson' });
    const lines = nd.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines.map((e) => [e.id, e.at])).toEqual(docs.map((d) => [d._id, d.at.toISOString()]));

    // The export reads the ledger a page at a time: between pages the database holds no cursor (a
    // cursor over the whole range would keep the other 9,000 entries on the server).
    const openCursors = async () => Number(((await model.db.db!.admin().command({ serverStatus: 1 })) as Json).metrics.cursor.open.total);
    const before = await openCursors();
    const stream = new UsageRepository(t.server.db.models).stream({ accountId: license.accountId, licenseId: license.id, from: new Date(range.from), to: new Date(range.to) }, null)[Symbol.asyncIterator]();
    expect(((await stream.next()).value as Json).id).toBe(docs[0]!._id);
    // (A real MongoDB counts the cursors of every client of the server.)
    if (!process.env.MONGODB_URI) expect(await openCursors()).toBe(before);
    const streamed = [docs[0]!._id];
    for (let r = await stream.next(); !r.done; r = await stream.next()) streamed.push((r.value as Json).id);
    expect(streamed).toEqual(docs.map((d) => d._id));

    // A client that reads one chunk and goes away: the export stops, the server goes on answering.
    const abort = new AbortController();
    const partial = await fetch(`${t.baseUrl}/api/v1/licenses/${license.id}/ledger/?format=ndjson`, { headers: { authorization: `Api-Key ${t.credentials.managementApiKey}` }, signal: abort.signal });
    expect(partial.status).toBe(200);
    const reader = partial.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    abort.abort();
    await reader.read().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await get(license.id, { format: 'csv', feature: 'api-calls' });
    expect(after.status).toBe(200);
    expect(after.text.split('\r\n')).toHaveLength(3);
  }, 60_000);

  async function getPath(path: string, query: Record<string, string> = {}, headers: Record<string, string> = {}, key = t.credentials.managementApiKey) {
    const res = await fetch(`${t.baseUrl}/api/v1/${path}?${new URLSearchParams(query).toString()}`, { headers: { authorization: `Api-Key ${key}`, ...headers } });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }

  /** The CSV rows a JSON report's buckets give. */
  const rowsOf = (report: Json): string[] =>
    report.buckets.map((b: Json) => [report.license, report.scope, report.feature ?? '', report.device ?? '', report.tz, b.start, b.end, b.consumed, b.refunded, b.net, b.count].join(','));

  it("exports a license's buckets as CSV and NDJSON equal to the JSON report, in a time zone, negatives included", async () => {
    clock.set('2026-11-01T08:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 100, allowNegative: true } });
    for (const [when, amount] of [['2026-11-01T09:00:00Z', 5], ['2026-11-01T21:30:00Z', -2], ['2026-11-03T10:00:00Z', 4]] as const) {
      clock.set(when);
      expect((await client.post('add_consumption', { ...ids, consumptions: amount })).status).toBe(200);
    }
    const query = { from: '2026-10-31T23:00:00Z', to: '2026-11-03T23:00:00Z', interval: 'day', tz: 'Europe/Berlin' };
    const json = JSON.parse((await getPath(`licenses/${license.id}/usage/`, query)).text) as Json;
    expect(json.buckets.map((b: Json) => b.net)).toEqual([3, 0, 4]);

    const csv = await getPath(`licenses/${license.id}/usage/`, { ...query, format: 'csv' });
    expect(csv.status).toBe(200);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.text).toBe(`${USAGE_HEADER}\r\n${rowsOf(json).join('\r\n')}\r\n`);
    expect(csv.text.split('\r\n')[1]).toBe(`${license.id},license,,,Europe/Berlin,2026-10-31T23:00:00.000Z,2026-11-01T23:00:00.000Z,5,-2,3,2`);
    expect((await getPath(`licenses/${license.id}/usage/`, query, { accept: 'text/csv' })).text).toBe(csv.text);

    const nd = await getPath(`licenses/${license.id}/usage/`, query, { accept: 'application/x-ndjson' });
    expect(nd.type).toBe('application/x-ndjson; charset=utf-8');
    const lines = nd.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines).toEqual(json.buckets.map((b: Json) => ({ license: license.id, scope: 'license', feature: null, device: null, tz: 'Europe/Berlin', ...b })));
    // ?format=json keeps the JSON report even when CSV is accepted.
    expect(JSON.parse((await getPath(`licenses/${license.id}/usage/`, { ...query, format: 'json' }, { accept: 'text/csv' })).text)).toEqual(json);
  });

  it("exports every license of a product (three pages' worth), each once, oldest first, equal to the JSON pages", async () => {
    clock.set('2026-11-10T08:00:00Z');
    const product = await productFor(t);
    const licenses = [];
    for (let i = 0; i < 230; i++) {
      clock.set(new Date(Date.parse('2026-11-10T08:00:00Z') + i * 1000).toISOString());
      // Only the licenses that consume are activated.
      const { license } = await buildLicense(t.services, t.account.id, { productId: product.id, type: 'consumption', maxActivations: 1, consumption: { max: 1000 } }, i % 50 === 7 ? ['hw-1'] : []);
      licenses.push(license);
    }
    for (const [i, license] of licenses.entries()) {
      if (i % 50 !== 7) continue;
      clock.set('2026-11-10T09:00:00Z');
      const res = await client.post('add_consumption', { product: product.shortCode, license_key: license.key!, hardware_id: 'hw-1', consumptions: i + 1 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const query = { product: String(product.id), from: '2026-11-09T00:00:00Z', to: '2026-11-12T00:00:00Z', interval: 'day' };
    const pages: Json[] = [];
    for (let page = 1; page <= 3; page++) pages.push(...(JSON.parse((await getPath('usage/', { ...query, page: String(page), page_size: '100' })).text) as Json).results);
    expect(pages.map((r) => r.license)).toEqual(licenses.map((l) => l.id));

    const csv = await getPath('usage/', { ...query, format: 'csv', page_size: '10' });
    expect(csv.status).toBe(200);
    const rows = csv.text.split('\r\n');
    expect(rows[0]).toBe(USAGE_HEADER);
    expect(rows.slice(1, -1)).toEqual(pages.flatMap(rowsOf));
    expect(rows).toHaveLength(2 + 230 * 3);
    const netOf = (text: string) => text.split('\r\n').slice(1, -1).reduce((sum, r) => sum + Number(r.split(',')[9]), 0);
    expect(netOf(csv.text)).toBe([7, 57, 107, 157, 207].reduce((s, i) => s + i + 1, 0));

    const nd = await getPath('usage/', { ...query, format: 'ndjson' });
    const lines = nd.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines).toHaveLength(230 * 3);
    expect(lines.map((l) => `${l.license},${l.start},${l.net}`)).toEqual(pages.flatMap((r) => r.buckets.map((b: Json) => `${r.license},${b.start},${b.net}`)));
  }, 120_000);

  it("answers refusals in JSON before any row: another account's license or product 404, an unknown zone 400", async () => {
    const { license, product } = await licenseFor(t);
    const range = { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z', format: 'csv' };
    const otherLicense = await getPath(`licenses/${license.id}/usage/`, range, {}, otherKey);
    expect(otherLicense.status).toBe(404);
    expect(JSON.parse(otherLicense.text)).toMatchObject({ status: 404, code: 'license_not_found' });
    const otherProduct = await getPath('usage/', { ...range, product: String(product.id) }, { accept: 'text/csv' }, otherKey);
    expect(otherProduct.status).toBe(404);
    expect(JSON.parse(otherProduct.text)).toMatchObject({ status: 404, code: 'product_not_found' });
    for (const [path, extra] of [[`licenses/${license.id}/usage/`, {}], ['usage/', { product: String(product.id) }]] as const) {
      const bad = await getPath(path, { ...range, ...extra, tz: 'Mars/Olympus_Mons' });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text)).toMatchObject({ status: 400, code: 'validation_failed' });
    }
  });
});
