import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import type { TestServer } from '../support/server.js';
import { licenseFor, startLicenseApiServer } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const HEADER = 'id,scope,feature,device,amount,total_after,period_end,event,counted,request_id,idempotency_key,at';

/** Ledger exports (GET /api/v1/licenses/{id}/ledger/ as CSV and NDJSON), streamed from a cursor. */
describe('Management API v1: ledger exports', () => {
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
});
