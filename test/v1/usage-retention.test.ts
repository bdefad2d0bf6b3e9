import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { IdempotencyRepository } from '../../server/db/idempotency-repository.js';
import { LedgerRetentionRepository } from '../../server/db/ledger-retention-repository.js';
import { UsageRepository } from '../../server/db/usage-repository.js';
import { requestFingerprint } from '../../server/domain/idempotency.js';
import { LedgerRetention } from '../../server/domain/ledger-retention.js';
import { ManualClock } from '../support/clock.js';
import type { TestServer } from '../support/server.js';
import { licenseFor, startLicenseApiServer } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Ledger retention (LEDGER_RETENTION_DAYS): entries older than the horizon are summarised into
 * 15-minute rollups and deleted; every usage report reads the same numbers before and after, and a
 * retried Idempotency-Key still finds its entry within the key's lifetime.
 */
describe('Ledger retention: older entries summarised into rollups, reports unchanged', () => {
  const clock = new ManualClock(new Date('2026-10-20T10:00:00Z'));
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock, env: { LEDGER_RETENTION_DAYS: '2', LEDGER_RETENTION_INTERVAL_MS: '0', OUTBOX_REPAIR_INTERVAL_MS: '0' } }));
  });
  afterAll(async () => t?.stop());
  afterEach(() => vi.restoreAllMocks());

  async function api(path: string, query: Record<string, string | number | undefined> = {}): Promise<{ status: number; body: Json }> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await fetch(`${t.baseUrl}${path}?${params.toString()}`, { headers: { authorization: `Api-Key ${t.credentials.managementApiKey}` } });
    return { status: res.status, body: await res.json() };
  }
  async function at(when: string | number, action: () => Promise<{ status: number; body: Json }>) {
    clock.set(new Date(when));
    const res = await action();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res;
  }
  const rawEntries = () => t.server.db.models.LedgerEntry.collection.find({}).sort({ at: 1, _id: 1 }).toArray() as unknown as Promise<Array<Json>>;
  const rollups = () => t.server.db.models.LedgerRollup.collection.find({}).sort({ _id: 1 }).toArray() as unknown as Promise<Array<Json>>;

  /**
   * Consumptions of two licenses of one product from 24 to 28 October 2026 (Europe/Berlin falls back on
   * the 25th): license-level ones with negatives and a daily period reset, a feature's, on two devices,
   * on slot boundaries and inside slots.
   */
  async function consumeAcrossDays() {
    clock.set('2026-10-24T00:00:00Z');
    const first = await licenseFor(t, { consumption: { max: 1000, allowNegative: true, reset: true, period: 'daily' }, maxActivations: 5 }, ['hw-a', 'hw-b']);
    const second = await licenseFor(t, { productId: first.product.id, consumption: { max: 1000, allowNegative: true } }, ['hw-c']);
    const a = first.ids;
    const b = { ...first.ids, hardware_id: 'hw-b' };
    const c = { ...second.ids, product: first.ids.product };
    const plan: Array<[string, Json, number, string?]> = [
      ['2026-10-24T08:00:00Z', a, 5],
      ['2026-10-24T08:14:59.999Z', b, 3],
      ['2026-10-24T08:15:00Z', a, -2],
      ['2026-10-24T22:30:00Z', c, 4],
      ['2026-10-24T23:50:00Z', a, 7, 'api-calls'],
      ['2026-10-25T00:40:00Z', a, 2], // the period reset, then 2: 01:40 in Berlin (summer time), the hour that repeats
      ['2026-10-25T01:10:00Z', b, 6], // 02:10 in Berlin, winter time
      ['2026-10-25T01:20:00Z', a, -1],
      ['2026-10-25T18:44:00Z', c, 9],
      ['2026-10-26T05:29:00Z', a, 4],
      ['2026-10-26T05:31:00Z', b, -3],
      ['2026-10-26T06:00:00Z', a, 2, 'api-calls'],
      ['2026-10-26T23:59:59.999Z', a, 1],
      ['2026-10-27T00:00:00Z', a, 8], // the first entry kept (the horizon is 27 October 00:00)
      ['2026-10-27T06:45:00Z', c, -2],
      ['2026-10-28T12:00:00Z', b, 2],
    ];
    for (const [when, ids, n, feature] of plan) {
      await at(when, () => client.post(feature ? 'add_feature_consumption' : 'add_consumption', { ...ids, consumptions: n, ...(feature ? { feature } : {}) }));
    }
    const deviceIds = (await t.services.devices.listActivations(t.account.id, { licenseId: first.license.id }, 0, 10)).map((d) => d.device.id);
    return { first: first.license.id, second: second.license.id, product: first.product.id, devices: deviceIds };
  }

  /** Every report the API gives of the data, to compare before and after retention. */
  async function reports(l: { first: number; second: number; product: number; devices: number[] }) {
    const out: Record<string, Json> = {};
    const range = { from: '2026-10-23T00:00:00Z', to: '2026-10-29T00:00:00Z' };
    for (const tz of ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Kathmandu']) {
      for (const interval of ['hour', 'day', 'month']) {
        const q = { ...range, tz, interval };
        out[`license ${tz} ${interval}`] = (await api(`/api/v1/licenses/${l.first}/usage/`, q)).body;
        out[`feature ${tz} ${interval}`] = (await api(`/api/v1/licenses/${l.first}/usage/`, { ...q, feature: 'api-calls' })).body;
        out[`product ${tz} ${interval}`] = (await api('/api/v1/usage/', { ...q, product: l.product })).body;
      }
    }
    for (const device of l.devices) out[`device ${device}`] = (await api(`/api/v1/licenses/${l.first}/usage/`, { ...range, device, interval: 'hour' })).body;
    out['second license, Berlin days'] = (await api(`/api/v1/licenses/${l.second}/usage/`, { ...range, tz: 'Europe/Berlin' })).body;
    // A range that ends inside the summarised part, and one that starts at the horizon.
    out['before the horizon'] = (await api(`/api/v1/licenses/${l.first}/usage/`, { from: '2026-10-24T08:00:00Z', to: '2026-10-25T01:15:00Z', interval: 'hour' })).body;
    out['after the horizon'] = (await api(`/api/v1/licenses/${l.first}/usage/`, { from: '2026-10-27T00:00:00Z', to: '2026-10-29T00:00:00Z' })).body;
    return out;
  }

  it('keeps entries newer than the horizon, rolls up the older ones per counter and 15-minute slot, deletes them, and every report is unchanged', async () => {
    const licenses = await consumeAcrossDays();
    const before = await reports(licenses);
    expect(before['license UTC day'].totals).toEqual({ consumed: 31, refunded: -6, net: 25, count: 11 });
    const entries = await rawEntries();
    const horizon = Date.parse('2026-10-27T00:00:00Z');
    const old = entries.filter((e) => e.at.getTime() < horizon);
    expect(old.some((e) => e.event === 'period_reset')).toBe(true);

    // Two days and seven minutes later: the horizon is 27 October 00:00 (two days back, at a slot boundary).
    clock.set('2026-10-29T00:07:00Z');
    expect(t.services.ledgerRetention.horizon()).toEqual(new Date(horizon));
    // Small batches: the walk goes by whole slots, a few entries at a time.
    const pass = await new LedgerRetention(new LedgerRetentionRepository(t.server.db.models), clock, 2, 3).run();
    expect(pass).toEqual({ summarisedBefore: new Date(horizon), deleted: old.length, rollups: expect.any(Number) });

    // Only the entries before the horizon are gone.
    expect((await rawEntries()).map((e) => e._id)).toEqual(entries.filter((e) => e.at.getTime() >= horizon).map((e) => e._id));
    // Each rollup is the sums of its counter's entries of one event in its slot.
    const expected = new Map<string, Json>();
    for (const e of old) {
      const slot = e.at.getTime() - (e.at.getTime() % (15 * 60_000));
      const id = JSON.stringify([e.accountId, e.licenseId, e.scope, e.featureCode, e.deviceId, e.event, slot]);
      const r = expected.get(id) ?? { _id: id, accountId: e.accountId, licenseId: e.licenseId, scope: e.scope, featureCode: e.featureCode, deviceId: e.deviceId, event: e.event, slot: new Date(slot), consumed: 0, refunded: 0, net: 0, count: 0 };
      r.consumed += Math.max(e.amount, 0);
      r.refunded += Math.min(e.amount, 0);
      r.net += e.amount;
      r.count += 1;
      expected.set(id, r);
    }
    expect(await rollups()).toEqual([...expected.values()].sort((x, y) => (x._id < y._id ? -1 : 1)));
    expect(pass.rollups).toBe(expected.size);

    expect(await reports(licenses)).toEqual(before);
    // The raw ledger lists only what is kept.
    const page = await api(`/api/v1/licenses/${licenses.first}/ledger/`);
    expect(page.body.results.map((e: Json) => [e.at, e.event]).sort()).toEqual([
      ['2026-10-27T00:00:00.000Z', 'consumption_add'],
      ['2026-10-27T00:00:00.000Z', 'period_reset'],
      ['2026-10-28T12:00:00.000Z', 'consumption_add'],
      ['2026-10-28T12:00:00.000Z', 'period_reset'],
    ]);

    // A second pass has nothing to do.
    const rollupsAfter = await rollups();
    expect(await t.server.retention.runOnce()).toEqual({ summarisedBefore: new Date(horizon), deleted: 0, rollups: 0 });
    expect(await rollups()).toEqual(rollupsAfter);

    // A day later the next day goes the same way (the server's job, default batch).
    clock.set('2026-10-30T00:00:00Z');
    const next = await t.server.retention.runOnce();
    expect(next).toMatchObject({ summarisedBefore: new Date('2026-10-28T00:00:00Z'), deleted: 3 });
    expect(await reports(licenses)).toEqual(before);
  });

  it('a crash between the rollups and the deletion neither loses nor doubles units; nor one while rollups are written', async () => {
    clock.set('2026-11-10T00:00:00Z');
    const { license, ids, product } = await licenseFor(t, { consumption: { max: 1000, allowNegative: true } });
    for (const [when, n] of [['2026-11-10T09:00:00Z', 5], ['2026-11-10T09:20:00Z', -2], ['2026-11-10T13:00:00Z', 4], ['2026-11-11T09:00:00Z', 3]] as const) {
      await at(when, () => client.post('add_consumption', { ...ids, consumptions: n }));
    }
    const report = async () => (await api(`/api/v1/licenses/${license.id}/usage/`, { from: '2026-11-10T00:00:00Z', to: '2026-11-12T00:00:00Z', interval: 'hour', tz: 'Europe/Berlin' })).body;
    const productReport = async () => (await api('/api/v1/usage/', { product: product.id, from: '2026-11-10T00:00:00Z', to: '2026-11-12T00:00:00Z', interval: 'day' })).body;
    const before = [await report(), await productReport()];
    const own = async () => (await rawEntries()).filter((e) => e.licenseId === license.id).length;
    const ownRollups = async () => (await rollups()).filter((r) => r.licenseId === license.id);

    // 1. The process dies after some rollups are stored, before the mark moves: reports read the entries.
    clock.set('2026-11-13T00:00:00Z');
    const real = LedgerRetentionRepository.prototype.insertRollups;
    const insert = vi.spyOn(LedgerRetentionRepository.prototype, 'insertRollups').mockImplementationOnce(async function (this: LedgerRetentionRepository, from, to) {
      await real.call(this, from, to);
      throw new Error('killed after the rollups');
    });
    await expect(t.server.retention.runOnce()).rejects.toThrow('killed after the rollups');
    insert.mockRestore();
    expect((await ownRollups()).length).toBe(3);
    expect(await own()).toBe(4);
    expect([await report(), await productReport()]).toEqual(before);

    // 2. It dies after the mark moved, before the entries are deleted: reports read the rollups only.
    const del = vi.spyOn(LedgerRetentionRepository.prototype, 'deleteEntriesBefore').mockRejectedValueOnce(new Error('killed before the deletion'));
    await expect(t.server.retention.runOnce()).rejects.toThrow('killed before the deletion');
    del.mockRestore();
    expect(await own()).toBe(4);
    const stored = await ownRollups();
    expect([await report(), await productReport()]).toEqual(before);

    // 3. The next pass deletes what is left and recomputes nothing.
    // (The entry of 11 November 09:00 is newer than the horizon, 11 November 00:00: it is kept.)
    expect((await t.server.retention.runOnce()).deleted).toBeGreaterThanOrEqual(3);
    expect(await own()).toBe(1);
    expect(await ownRollups()).toEqual(stored);
    expect(stored.map((r) => [r.slot.toISOString(), r.consumed, r.refunded, r.net, r.count])).toEqual([
      ['2026-11-10T09:00:00.000Z', 5, 0, 5, 1],
      ['2026-11-10T09:15:00.000Z', 0, -2, -2, 1],
      ['2026-11-10T13:00:00.000Z', 4, 0, 4, 1],
    ].sort());
    expect([await report(), await productReport()]).toEqual(before);
  });

  it('a report whose read the job overtakes (mark moved, entries deleted) reads again and gives the same numbers', async () => {
    clock.set('2026-11-14T00:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 10_000, allowNegative: true } });
    for (let i = 0; i < 12; i += 1) {
      await at(Date.parse('2026-11-14T00:00:00Z') + i * 220 * 60_000, () => client.post('add_consumption', { ...ids, consumptions: i % 5 === 4 ? -1 : i + 1 }));
    }
    const report = async () => (await api(`/api/v1/licenses/${license.id}/usage/`, { from: '2026-11-14T00:00:00Z', to: '2026-11-16T00:00:00Z', interval: 'hour', tz: 'Asia/Kolkata' })).body;
    const before = await report();
    expect(before.totals.count).toBe(12);
    clock.set('2026-11-19T00:00:00Z');
    // The whole pass runs between the report's read of the mark and its read of the entries.
    const real = UsageRepository.prototype.sumByBucket;
    let overtaken = false;
    vi.spyOn(UsageRepository.prototype, 'sumByBucket').mockImplementation(async function (this: UsageRepository, ...args) {
      if (args[3] === 'entries' && !overtaken) {
        overtaken = true;
        await t.server.retention.runOnce();
      }
      return real.apply(this, args);
    });
    expect(await report()).toEqual(before);
    expect(overtaken).toBe(true);
    expect((await rawEntries()).filter((e) => e.licenseId === license.id)).toEqual([]);
  });

  it('does not summarise the slot of an entry still in an outbox (it reaches the ledger later, with its own time)', async () => {
    clock.set('2026-11-20T00:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 1000 } });
    await at('2026-11-20T09:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 2 }));
    // The move into the ledger fails (database away): the entry stays in the license's outbox.
    const move = vi.spyOn(t.services.ledger, 'insertMoves').mockRejectedValue(new Error('ledger away'));
    await at('2026-11-20T10:05:00Z', () => client.post('add_consumption', { ...ids, consumptions: 3 }));
    await at('2026-11-20T11:00:00Z', () => client.post('add_consumption', { ...ids, consumptions: 4 }));
    move.mockRestore();
    clock.set('2026-11-23T00:00:00Z');
    expect((await t.server.retention.runOnce()).summarisedBefore).toEqual(new Date('2026-11-20T10:00:00Z'));
    // The repair moves it; the next pass summarises the rest.
    expect(await t.server.repair.runOnce()).toBeGreaterThanOrEqual(1);
    expect((await t.server.retention.runOnce()).summarisedBefore).toEqual(new Date('2026-11-21T00:00:00Z'));
    const res = await api(`/api/v1/licenses/${license.id}/usage/`, { from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z', interval: 'hour' });
    expect(res.body.totals).toEqual({ consumed: 9, refunded: 0, net: 9, count: 3 });
    expect(res.body.buckets.filter((b: Json) => b.count > 0).map((b: Json) => [b.start, b.net])).toEqual([
      ['2026-11-20T09:00:00.000Z', 2],
      ['2026-11-20T10:00:00.000Z', 3],
      ['2026-11-20T11:00:00.000Z', 4],
    ]);
    expect((await rawEntries()).filter((e) => e.licenseId === license.id)).toEqual([]);
  });

  it('a retry that takes over a crashed request finds its entry within the key lifetime: counted once', async () => {
    clock.set('2026-12-01T10:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 100 } });
    const key = `retained-key-${license.id}`;
    const body = { ...ids, consumptions: 3 };
    // What the crashed server did: claimed the key and made the change, then died (no response stored).
    const now = clock.now();
    const claim = await new IdempotencyRepository(t.server.db.models).claim(t.account.id, key, requestFingerprint('POST /api/v4/add_consumption', body), now, new Date(now.getTime() + 30_000), new Date(now.getTime() + DAY));
    expect(claim.claimed).toBe(true);
    await t.services.consumption.consume({ accountId: t.account.id, license: { licenseId: license.id }, target: { scope: 'license' }, amount: 3, seat: { hardwareId: ids.hardware_id }, negatives: 'policy', event: 'consumption_add', idempotencyKey: key });

    // Just before the key expires (a day later), retention at its shortest has run.
    clock.set(new Date(now.getTime() + DAY - 60_000));
    await t.server.retention.runOnce();
    expect((await rawEntries()).filter((e) => e.idempotencyKey === key)).toHaveLength(1);
    const retry = await client.post('add_consumption', body, { headers: { 'Idempotency-Key': key } });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toMatchObject({ total_consumptions: 3 });
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).consumption.total).toBe(3);
  });
});

describe('Ledger retention: keep forever (the default)', () => {
  const clock = new ManualClock(new Date('2026-01-05T10:00:00Z'));
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock, env: { OUTBOX_REPAIR_INTERVAL_MS: '0' } }));
  });
  afterAll(async () => t?.stop());

  it('deletes nothing and writes no rollup, however old the entries', async () => {
    const { ids } = await licenseFor(t, { consumption: { max: 100 } });
    for (const n of [1, 2, 3]) {
      clock.advance(HOUR);
      expect((await client.post('add_consumption', { ...ids, consumptions: n })).status).toBe(200);
    }
    clock.set('2036-01-01T00:00:00Z');
    expect(t.services.ledgerRetention.horizon()).toBeNull();
    expect(await t.server.retention.runOnce()).toEqual({ summarisedBefore: null, deleted: 0, rollups: 0 });
    expect(await t.server.db.models.LedgerEntry.collection.countDocuments({})).toBe(3);
    expect(await t.server.db.models.LedgerRollup.collection.countDocuments({})).toBe(0);
  });
});

describe('Ledger retention: the server runs the job every LEDGER_RETENTION_INTERVAL_MS', () => {
  const clock = new ManualClock(new Date('2026-02-02T10:00:00Z'));
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock, env: { LEDGER_RETENTION_DAYS: '2', LEDGER_RETENTION_INTERVAL_MS: '50', OUTBOX_REPAIR_INTERVAL_MS: '0' } }));
  });
  afterAll(async () => t?.stop());

  it('summarises the entries once they are older than the horizon, without being asked', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 100 } });
    expect((await client.post('add_consumption', { ...ids, consumptions: 4 })).status).toBe(200);
    const entries = () => t.server.db.models.LedgerEntry.collection.countDocuments({ licenseId: license.id });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await entries()).toBe(1);
    clock.set('2026-02-05T00:00:00Z');
    await vi.waitFor(async () => expect(await entries()).toBe(0), { timeout: 10_000, interval: 50 });
    const res = await fetch(`${t.baseUrl}/api/v1/licenses/${license.id}/usage/?from=2026-02-02T00:00:00Z&to=2026-02-03T00:00:00Z`, { headers: { authorization: `Api-Key ${t.credentials.managementApiKey}` } });
    expect(((await res.json()) as Json).totals).toEqual({ consumed: 4, refunded: 0, net: 4, count: 1 });
  });
});
