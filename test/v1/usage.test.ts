import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plannerStats } from '../../server/db/embedded/query/planner.js';
import { ManualClock } from '../support/clock.js';
import type { TestServer } from '../support/server.js';
import { buildLicense } from '../support/fixtures.js';
import { licenseFor, productFor, startLicenseApiServer } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';
import { activate, call, seedV3License, seedV3Product } from '../v3/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * Usage reports (GET /api/v1/licenses/{id}/usage/) and ledger pages (/ledger/) over consumptions made
 * through the License API v4 and the Web API v3, on a ManualClock so that entries have exact times.
 */
describe('Management API v1: usage and ledger', () => {
  const clock = new ManualClock(new Date('2026-11-01T10:00:00Z'));
  let t: TestServer;
  let client: V4Client;
  let otherKey: string;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock }));
    otherKey = (await t.createAccount('usage-other')).credentials.managementApiKey;
  });
  afterAll(async () => t?.stop());

  async function api(path: string, query: Record<string, string | number | undefined> = {}, key = t.credentials.managementApiKey): Promise<{ status: number; body: Json }> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await fetch(`${t.baseUrl}${path}?${params.toString()}`, { headers: { authorization: `Api-Key ${key}` } });
    return { status: res.status, body: await res.json() };
  }
  const usage = (licenseId: number, query: Record<string, string | number | undefined>, key?: string) => api(`/api/v1/licenses/${licenseId}/usage/`, query, key);
  const ledger = (licenseId: number, query: Record<string, string | number | undefined> = {}, key?: string) => api(`/api/v1/licenses/${licenseId}/ledger/`, query, key);

  async function at(when: string, action: () => Promise<{ status: number; body: Json }>) {
    clock.set(when);
    const res = await action();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res;
  }
  const bucket = (start: string, end: string, consumed = 0, refunded = 0, count = 0) => ({
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    consumed,
    refunded,
    net: consumed + refunded,
    count,
  });
  const licenseTotal = async (licenseId: number) => (await t.services.licenses.getLicense(t.account.id, licenseId)).consumption.total;
  const featureTotal = async (licenseId: number, code: string) => (await t.services.licenses.getLicense(t.account.id, licenseId)).features.find((f) => f.code === code)!.total;

  it('sums License API v4 consumptions per UTC day: positives, negatives, an entry on a boundary, empty days; totals equal the counter', async () => {
    clock.set('2026-11-01T08:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 100, allowNegative: true } });
    await at('2026-11-01T10:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 5 }));
    await at('2026-11-01T11:30:00Z', () => client.post('add_consumption', { ...ids, consumptions: 3 }));
    await at('2026-11-01T23:59:59.999Z', () => client.post('add_consumption', { ...ids, consumptions: -2 }));
    await at('2026-11-03T00:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 4 }));
    // A feature's consumption is not the license-level counter's.
    await at('2026-11-01T12:00:00Z', () => client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 7 }));

    const res = await usage(license.id, { from: '2026-11-01T00:00:00Z', to: '2026-11-04T00:00:00Z', interval: 'day' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      license: license.id,
      scope: 'license',
      feature: null,
      device: null,
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-04T00:00:00.000Z',
      interval: 'day',
      tz: 'UTC',
      buckets: [bucket('2026-11-01', '2026-11-02', 8, -2, 3), bucket('2026-11-02', '2026-11-03'), bucket('2026-11-03', '2026-11-04', 4, 0, 1)],
      totals: { consumed: 12, refunded: -2, net: 10, count: 4 },
    });
    expect(res.body.totals.net).toBe(await licenseTotal(license.id));

    const feature = await usage(license.id, { from: '2026-11-01T00:00:00Z', to: '2026-11-04T00:00:00Z', feature: 'api-calls' });
    expect(feature.body.scope).toBe('feature');
    expect(feature.body.buckets).toEqual([bucket('2026-11-01', '2026-11-02', 7, 0, 1), bucket('2026-11-02', '2026-11-03'), bucket('2026-11-03', '2026-11-04')]);
    expect(feature.body.totals.net).toBe(await featureTotal(license.id, 'api-calls'));

    // `to` is exclusive; the first and last buckets are clipped to the range; an empty range has zeros.
    const clipped = await usage(license.id, { from: '2026-11-01T11:00:00Z', to: '2026-11-03T00:00:00Z' });
    expect(clipped.body.buckets).toEqual([bucket('2026-11-01T11:00:00Z', '2026-11-02', 3, -2, 2), bucket('2026-11-02', '2026-11-03')]);
    const empty = await usage(license.id, { from: '2026-10-01T00:00:00Z', to: '2026-10-01T03:00:00Z', interval: 'hour' });
    expect(empty.body.buckets).toEqual([bucket('2026-10-01T00:00Z', '2026-10-01T01:00Z'), bucket('2026-10-01T01:00Z', '2026-10-01T02:00Z'), bucket('2026-10-01T02:00Z', '2026-10-01T03:00Z')]);
    expect(empty.body.totals).toEqual({ consumed: 0, refunded: 0, net: 0, count: 0 });
  });

  it('weeks start on Monday and months on the 1st', async () => {
    clock.set('2026-11-01T08:00:00Z');
    const { license, ids } = await licenseFor(t);
    await at('2026-11-01T09:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 1 })); // a Sunday
    await at('2026-11-02T00:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 2 })); // Monday
    await at('2026-12-01T00:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 4 }));
    const weeks = await usage(license.id, { from: '2026-10-29T00:00:00Z', to: '2026-11-10T00:00:00Z', interval: 'week' });
    expect(weeks.body.buckets).toEqual([bucket('2026-10-29', '2026-11-02', 1, 0, 1), bucket('2026-11-02', '2026-11-09', 2, 0, 1), bucket('2026-11-09', '2026-11-10')]);
    const months = await usage(license.id, { from: '2026-10-15T00:00:00Z', to: '2027-01-01T00:00:00Z', interval: 'month' });
    expect(months.body.buckets).toEqual([bucket('2026-10-15', '2026-11-01'), bucket('2026-11-01', '2026-12-01', 3, 0, 2), bucket('2026-12-01', '2027-01-01', 4, 0, 1)]);
    expect(months.body.totals.net).toBe(await licenseTotal(license.id));
  });

  it('aligns days in Europe/Berlin across both daylight saving changes of 2026 (23 and 25 hour days) and hours across the fall-back', async () => {
    clock.set('2026-03-27T08:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 1000 } });
    await at('2026-03-28T22:59:59Z', () => client.post('add_consumption', { ...ids, consumptions: 1 })); // 23:59:59 CET on the 28th
    await at('2026-03-28T23:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 2 })); // 00:00 CET on the 29th
    await at('2026-03-29T21:59:59Z', () => client.post('add_consumption', { ...ids, consumptions: 4 })); // 23:59:59 CEST on the 29th
    await at('2026-03-29T22:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 8 })); // 00:00 CEST on the 30th
    const spring = await usage(license.id, { from: '2026-03-28T00:00:00+01:00', to: '2026-03-31T00:00:00+02:00', tz: 'Europe/Berlin' });
    expect(spring.body.buckets).toEqual([
      bucket('2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z', 1, 0, 1),
      bucket('2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', 6, 0, 2), // 23 hours
      bucket('2026-03-29T22:00:00Z', '2026-03-30T22:00:00Z', 8, 0, 1),
    ]);
    // The same entries by UTC day.
    const utc = await usage(license.id, { from: '2026-03-28T00:00:00Z', to: '2026-03-30T00:00:00Z' });
    expect(utc.body.buckets).toEqual([bucket('2026-03-28', '2026-03-29', 3, 0, 2), bucket('2026-03-29', '2026-03-30', 12, 0, 2)]);

    await at('2026-10-24T22:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 16 })); // 00:00 CEST on the 25th
    await at('2026-10-25T00:30:00Z', () => client.post('add_consumption', { ...ids, consumptions: 32 })); // 02:30 CEST
    await at('2026-10-25T01:30:00Z', () => client.post('add_consumption', { ...ids, consumptions: 64 })); // 02:30 CET, the second one
    await at('2026-10-25T22:59:59Z', () => client.post('add_consumption', { ...ids, consumptions: 128 })); // 23:59:59 CET
    const autumn = await usage(license.id, { from: '2026-10-25T00:00:00+02:00', to: '2026-10-27T00:00:00+01:00', tz: 'Europe/Berlin' });
    expect(autumn.body.buckets).toEqual([
      bucket('2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', 240, 0, 4), // 25 hours
      bucket('2026-10-25T23:00:00Z', '2026-10-26T23:00:00Z'),
    ]);
    const hours = await usage(license.id, { from: '2026-10-25T00:00:00+02:00', to: '2026-10-26T00:00:00+01:00', tz: 'Europe/Berlin', interval: 'hour' });
    expect(hours.body.buckets).toHaveLength(25);
    expect(hours.body.buckets.slice(2, 4)).toEqual([bucket('2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', 32, 0, 1), bucket('2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z', 64, 0, 1)]);
    expect(hours.body.totals.net).toBe(240);
  });

  it('totals equal the counter of each period across a period reset, with negatives; period and vendor resets are not usage', async () => {
    clock.set('2026-11-10T08:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 10, allowNegative: true, reset: true, period: 'daily' } });
    await at('2026-11-10T09:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 6 }));
    await at('2026-11-10T10:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: -2 }));
    const firstPeriodTotal = await licenseTotal(license.id);
    await at('2026-11-11T09:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 3 })); // resets the period first
    await at('2026-11-11T10:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: -1 }));
    expect(firstPeriodTotal).toBe(4);
    expect(await licenseTotal(license.id)).toBe(2);

    const first = await usage(license.id, { from: '2026-11-10T00:00:00Z', to: '2026-11-11T00:00:00Z' });
    expect(first.body.totals).toEqual({ consumed: 6, refunded: -2, net: firstPeriodTotal, count: 2 });
    const second = await usage(license.id, { from: '2026-11-11T00:00:00Z', to: '2026-11-12T00:00:00Z' });
    expect(second.body.totals).toEqual({ consumed: 3, refunded: -1, net: await licenseTotal(license.id), count: 2 });

    // The ledger has the period's end, not counted.
    const entries = (await ledger(license.id)).body.results as Json[];
    // (The period's end and the consumption after it are written at the same instant, so they come in id order.)
    const rows = entries.map((e) => [e.event, e.amount, e.total_after, e.counted]);
    expect(rows.slice(0, 2)).toEqual([
      ['consumption_add', 6, 6, true],
      ['consumption_add', -2, 4, true],
    ]);
    expect(rows.slice(2, 4)).toEqual(expect.arrayContaining([['period_reset', -4, 0, false], ['consumption_add', 3, 3, true]]));
    expect(rows[4]).toEqual(['consumption_add', -1, 2, true]);
    expect(entries[0].period_end).toBe('2026-11-11T00:00:00.000Z');

    // A vendor's reset moves the counter, not the usage.
    clock.set('2026-11-11T12:00:00Z');
    await t.services.licenseAdmin.resetConsumption(t.account.id, license.id);
    const after = await usage(license.id, { from: '2026-11-10T00:00:00Z', to: '2026-11-12T00:00:00Z' });
    expect(after.body.totals).toEqual({ consumed: 9, refunded: -3, net: 6, count: 4 });
    expect((await ledger(license.id)).body.results.at(-1)).toMatchObject({ event: 'reset', amount: -2, counted: false });
  });

  it('counts Web API v3 meter increments per feature and per device', async () => {
    clock.set('2026-11-05T08:00:00Z');
    const { productId } = await seedV3Product(t.services, t.account.id);
    const license = await seedV3License(t.services, t.account.id, productId);
    const [a, b] = [await activate(t, license), await activate(t, license)];
    const increment = (aid: string, n: number) => call({ baseUrl: t.baseUrl }, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: n, activationId: aid, accountId: '' });
    await at('2026-11-05T09:00:00Z', () => increment(a, 3));
    await at('2026-11-05T10:00:00Z', () => increment(b, 5));
    await at('2026-11-06T10:00:00Z', () => increment(a, 2));
    const range = { from: '2026-11-05T00:00:00Z', to: '2026-11-07T00:00:00Z', feature: 'api-calls' };
    const all = await usage(license.id, range);
    expect(all.body.buckets).toEqual([bucket('2026-11-05', '2026-11-06', 8, 0, 2), bucket('2026-11-06', '2026-11-07', 2, 0, 1)]);
    expect(all.body.totals.net).toBe(await featureTotal(license.id, 'api-calls'));
    expect((await usage(license.id, { from: range.from, to: range.to })).body.totals.count).toBe(0); // no license-level consumption

    const devices = await t.services.devices.listActivations(t.account.id, { licenseId: license.id }, 0, 10);
    const deviceOf = (aid: string) => devices.find((d) => d.device.activationId === aid)!.device.id;
    const ofA = await usage(license.id, { ...range, device: deviceOf(a) });
    expect(ofA.body).toMatchObject({ device: deviceOf(a), totals: { consumed: 5, refunded: 0, net: 5, count: 2 } });
    expect((await usage(license.id, { ...range, device: deviceOf(b) })).body.totals).toEqual({ consumed: 5, refunded: 0, net: 5, count: 1 });
    const ledgerOfB = (await ledger(license.id, { device: deviceOf(b) })).body.results as Json[];
    expect(ledgerOfB.map((e) => [e.event, e.feature, e.amount, e.device])).toEqual([['meter_increment', 'api-calls', 5, deviceOf(b)]]);
  });

  // ENGINE-ONLY (planner statistics): on MongoDB the same $match is an IXSCAN of accountId_1_licenseId_1_at_1__id_1.
  it.skipIf(!!process.env.MONGODB_URI)("reads only the license's own ledger entries (by index), not other licenses'", async () => {
    clock.set('2026-11-15T08:00:00Z');
    const busy = await licenseFor(t, { consumption: { max: 1000 } });
    for (let i = 0; i < 30; i += 1) await at('2026-11-15T09:00:00Z', () => client.post('add_consumption', { ...busy.ids, consumptions: 1 }));
    const { license, ids } = await licenseFor(t);
    await at('2026-11-15T10:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 2 }));
    const own = (await t.services.ledger.entriesFor(t.account.id, license.id)).length;
    let before = plannerStats.docsExamined;
    expect((await usage(license.id, { from: '2026-11-15T00:00:00Z', to: '2026-11-16T00:00:00Z' })).body.totals.net).toBe(2);
    // Besides the license's entries: the caller's account and the license document (the busy license's 30 entries are never read).
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(own + 2);
    before = plannerStats.docsExamined;
    const page = await ledger(license.id, { page_size: 1 });
    await ledger(license.id, { page_size: 1, cursor: page.body.next_cursor ?? undefined });
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(2 * (own + 2));
  });

  it('answers 400 validation_failed for an unknown time zone, a bad range, too many buckets and a malformed cursor', async () => {
    const { license } = await licenseFor(t);
    const range = { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' };
    for (const query of [
      { ...range, tz: 'Mars/Olympus_Mons' },
      { ...range, tz: '+01:00' },
      { ...range, tz: 'not a zone' },
      { from: range.to, to: range.from },
      { from: range.from, to: range.from },
      { from: '2026-01-01T00:00:00Z', to: '2027-03-01T00:00:00Z', interval: 'hour' }, // 10,152 hours
      { ...range, interval: 'minute' },
      { to: range.to },
      { ...range, from: 'yesterday' },
    ]) {
      const res = await usage(license.id, query);
      expect(res.body, JSON.stringify(query)).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(res.status).toBe(400);
    }
    // 10,000 buckets are allowed.
    const max = await usage(license.id, { from: '2026-01-01T00:00:00Z', to: new Date(Date.parse('2026-01-01T00:00:00Z') + 10_000 * 3_600_000).toISOString(), interval: 'hour' });
    expect(max.status).toBe(200);
    expect(max.body.buckets).toHaveLength(10_000);
    const bad = await ledger(license.id, { cursor: 'bm90LWEtY3Vyc29y' });
    expect(bad.body).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(bad.status).toBe(400);
  });

  it("answers 404 license_not_found for another account's license and for no license", async () => {
    const { license } = await licenseFor(t);
    for (const res of [
      await usage(license.id, { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' }, otherKey),
      await ledger(license.id, {}, otherKey),
      await usage(1234567890123456, { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' }),
      await ledger(1234567890123456),
    ]) {
      expect(res.body).toMatchObject({ status: 404, code: 'license_not_found' });
      expect(res.status).toBe(404);
    }
  });

  it("reports a product's licenses page by page, each with the license report's buckets and totals, from one read of their entries", async () => {
    clock.set('2026-12-01T08:00:00Z');
    const product = await productFor(t);
    const made = [];
    for (let i = 0; i < 3; i += 1) {
      // Created a minute apart: the list's order (oldest first) is a, b, c.
      clock.set(new Date(Date.parse('2026-12-01T08:00:00Z') + i * 60_000));
      const { license } = await buildLicense(t.services, t.account.id, { productId: product.id, type: 'consumption', maxActivations: 5, consumption: { max: 100, allowNegative: true } }, ['hw-1']);
      made.push({ license, ids: { product: product.shortCode, license_key: license.key!, hardware_id: 'hw-1' } });
    }
    const [a, b, c] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];
    await at('2026-12-01T10:00:00Z', () => client.post('add_consumption', { ...a.ids, consumptions: 5 }));
    await at('2026-12-02T09:00:00Z', () => client.post('add_consumption', { ...a.ids, consumptions: -2 }));
    await at('2026-12-01T12:00:00Z', () => client.post('add_consumption', { ...b.ids, consumptions: 7 }));
    await at('2026-12-01T13:00:00Z', () => client.post('add_consumption', { ...b.ids, consumptions: 1 }));
    // Outside the range: not counted.
    await at('2026-12-03T00:00:00Z', () => client.post('add_consumption', { ...c.ids, consumptions: 9 }));
    // A busy license of another product of the account: never in the report.
    const { ids: otherIds } = await licenseFor(t, { consumption: { max: 1000 } });
    await at('2026-12-01T15:00:00Z', () => client.post('add_consumption', { ...otherIds, consumptions: 3 }));
    const range = { product: product.id, from: '2026-12-01T00:00:00Z', to: '2026-12-03T00:00:00Z' };
    const days = (d1: [number, number, number], d2: [number, number, number]) => [bucket('2026-12-01', '2026-12-02', ...d1), bucket('2026-12-02', '2026-12-03', ...d2)];
    const expected = [
      { license: a.license.id, buckets: days([5, 0, 1], [0, -2, 1]), totals: { consumed: 5, refunded: -2, net: 3, count: 2 } },
      { license: b.license.id, buckets: days([8, 0, 2], [0, 0, 0]), totals: { consumed: 8, refunded: 0, net: 8, count: 2 } },
      { license: c.license.id, buckets: days([0, 0, 0], [0, 0, 0]), totals: { consumed: 0, refunded: 0, net: 0, count: 0 } },
    ].map((e) => ({ ...e, scope: 'license', feature: null, device: null, from: '2026-12-01T00:00:00.000Z', to: '2026-12-03T00:00:00.000Z', interval: 'day', tz: 'UTC' }));

    const all = await api('/api/v1/usage/', range);
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    expect(all.body).toEqual({ count: 3, next: null, previous: null, results: expected });
    // Each result is what the license's own report answers.
    for (const e of expected) expect((await usage(e.license, { from: range.from, to: range.to })).body).toEqual(e);

    const first = await api('/api/v1/usage/', { ...range, page_size: 2 });
    expect(first.body.count).toBe(3);
    expect(first.body.results).toEqual(expected.slice(0, 2));
    expect(first.body.previous).toBeNull();
    expect(new URL(first.body.next).searchParams.get('page')).toBe('2');
    const second = await api('/api/v1/usage/', { ...range, page_size: 2, page: 2 });
    expect(second.body.results).toEqual(expected.slice(2));
    expect(second.body.next).toBeNull();

    // A feature's usage across the product: none consumed.
    const feature = await api('/api/v1/usage/', { ...range, feature: 'api-calls', interval: 'month' });
    expect(feature.body.results.map((r: Json) => [r.license, r.scope, r.feature, r.totals.count])).toEqual(expected.map((e) => [e.license, 'feature', 'api-calls', 0]));
  });

  it("answers 404 product_not_found for another account's product and for no product, 400 for a bad range", async () => {
    const product = await productFor(t);
    const range = { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' };
    const other = await api('/api/v1/usage/', { ...range, product: product.id }, otherKey);
    expect(other).toEqual({ status: 404, body: { status: 404, code: 'product_not_found', message: 'Product not found' } });
    const none = await api('/api/v1/usage/', { ...range, product: 9_000_000_000_001 });
    expect(none.status).toBe(404);
    expect(none.body.code).toBe('product_not_found');
    const bad = await api('/api/v1/usage/', { product: product.id, from: range.to, to: range.from });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('pages through the ledger with a cursor: every entry exactly once, in ledger order, with its request id and idempotency key; filters', async () => {
    clock.set('2026-11-20T08:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 1000 } });
    // Several entries share an instant (the clock stands still), so the order falls back to the id.
    for (let i = 0; i < 9; i += 1) {
      clock.set(`2026-11-20T1${Math.floor(i / 3)}:00:00Z`);
      const res = await client.post('add_consumption', { ...ids, consumptions: i + 1 }, { headers: { 'Idempotency-Key': `usage-${license.id}-${i}`, 'X-Request-Id': `req-${license.id}-${i}` } });
      expect(res.status).toBe(200);
    }
    await at('2026-11-20T13:00:00Z', () => client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 2 }));
    const stored = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(stored).toHaveLength(10);

    const seen: Json[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await ledger(license.id, { page_size: 4, cursor });
      expect(res.status).toBe(200);
      seen.push(...res.body.results);
      cursor = res.body.next_cursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen.map((e) => e.id).sort()).toEqual(stored.map((e) => e.id).sort());
    const order = seen.map((e) => [e.at, e.id]);
    expect(order).toEqual([...order].sort((x, y) => (x[0] === y[0] ? (x[1] < y[1] ? -1 : 1) : x[0] < y[0] ? -1 : 1)));
    const third = seen.find((e) => e.amount === 3);
    expect(third).toEqual({
      id: third.id,
      scope: 'license',
      feature: null,
      device: stored.find((e) => e.id === third.id)!.deviceId,
      amount: 3,
      total_after: 6,
      period_end: null,
      event: 'consumption_add',
      counted: true,
      request_id: `req-${license.id}-2`,
      idempotency_key: `usage-${license.id}-2`,
      at: '2026-11-20T10:00:00.000Z',
    });
    expect(typeof third.device).toBe('number');

    // An exact page: no next cursor.
    const exact = await ledger(license.id, { page_size: 10 });
    expect(exact.body.results).toHaveLength(10);
    expect(exact.body.next_cursor).toBeNull();

    const feature = await ledger(license.id, { feature: 'api-calls' });
    expect(feature.body.results.map((e: Json) => [e.scope, e.feature, e.amount])).toEqual([['feature', 'api-calls', 2]]);
    const window = await ledger(license.id, { from: '2026-11-20T11:00:00Z', to: '2026-11-20T12:00:00Z' });
    expect(window.body.results.map((e: Json) => e.amount).sort()).toEqual([4, 5, 6]);
    expect((await ledger(license.id, { device: 999999 })).body.results).toEqual([]);
  });
});
