import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { plannerStats } from '../../server/db/embedded/query/planner.js';
import { seedAccountWithProduct, startTestDomain, type TestDomain } from '../support/domain.js';

/**
 * The outbox settler moves the ledger entries and events written with each counter change to their
 * collections, batching the writes of concurrent requests; a consume call returns only once its own
 * entries are in place, and whatever a failed move leaves behind is moved by the repair step.
 */
describe('outbox settler', () => {
  let t: TestDomain;
  beforeAll(async () => {
    t = await startTestDomain();
  });
  afterAll(async () => t?.stop());
  afterEach(() => vi.restoreAllMocks());

  /** A license on a new account; `subscribed`: the account has a webhook subscription to consumption.added. */
  async function licensed(subscribed = true) {
    const { account, product } = await seedAccountWithProduct(t.services);
    const license = await t.services.licenses.createLicense(account.id, { productId: product.id, type: 'consumption', maxActivations: 5, features: [{ code: 'api-calls', max: 1_000 }] });
    const { device } = await t.services.devices.activate(account.id, { license: { licenseId: license.id }, hardwareId: 'hw-1' });
    if (subscribed) await t.services.webhooks.create(account.id, { url: 'http://127.0.0.1:9/hooks', events: ['consumption.added'] });
    return { account, license, device };
  }

  const consume = (accountId: number, licenseId: number) =>
    t.services.consumption.consume({
      accountId,
      license: { licenseId },
      target: { scope: 'feature', code: 'api-calls' },
      seat: { hardwareId: 'hw-1' },
      amount: 1,
      negatives: 'policy',
      event: 'consumption_add',
    });

  const outboxOf = async (licenseId: number) => ((await t.db.models.License.findById(licenseId, { outbox: 1 }).lean<{ outbox?: unknown[] }>())?.outbox ?? []).length;

  it('moves the entries of 200 concurrent consumptions in far fewer flushes, each in place when its call returns', async () => {
    const { account, license } = await licensed();
    const flushes = vi.spyOn(t.services.ledger, 'insertMoves');
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const result = await consume(account.id, license.id);
        // In place as soon as this call returned (not merely by the end of the burst).
        const entries = await t.services.ledger.entriesFor(account.id, license.id);
        return { total: result.meter.total, seen: entries.some((e) => e.totalAfter === result.meter.total) };
      }),
    );
    expect(results.every((r) => r.seen)).toBe(true);
    expect(flushes.mock.calls.length).toBeGreaterThan(0);
    expect(flushes.mock.calls.length).toBeLessThan(100);
    const entries = await t.services.ledger.entriesFor(account.id, license.id);
    expect(entries).toHaveLength(200);
    // Each entry carries the total its change resulted in: 1..200, once each.
    expect(entries.map((e) => e.totalAfter).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const events = await t.services.events.list(account.id, { type: 'consumption.added' });
    expect(events).toHaveLength(200);
    expect(await outboxOf(license.id)).toBe(0);
  });

  it('leaves the entries of a failed ledger move in the outbox (the call still succeeds), and repair moves them complete', async () => {
    const { account, license, device } = await licensed();
    vi.spyOn(t.services.ledger, 'insertMoves').mockRejectedValueOnce(new Error('ledger unavailable')).mockRejectedValueOnce(new Error('ledger unavailable'));
    expect((await consume(account.id, license.id)).meter.total).toBe(1);
    expect((await consume(account.id, license.id)).meter.total).toBe(2);
    expect(await t.services.ledger.entriesFor(account.id, license.id)).toHaveLength(0);
    // The events were moved by the same flushes; only the ledger entries wait.
    expect(await t.services.events.list(account.id, { type: 'consumption.added', subject: `license:${license.id}` })).toHaveLength(2);
    expect(await outboxOf(license.id)).toBe(2);

    // Not yet old enough: left alone.
    expect(await t.services.eventOutbox.repair(new Date(Date.now() - 60_000))).toBe(0);
    expect(await t.services.eventOutbox.repair(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(2);
    // A normally settled entry, to compare with.
    await consume(account.id, license.id);
    const entries = await t.services.ledger.entriesFor(account.id, license.id);
    expect(entries).toHaveLength(3);
    // Repaired entries are complete, exactly like the settled one: license, device, period, total after.
    const shape = (e: (typeof entries)[number]) => ({ licenseId: e.licenseId, deviceId: e.deviceId, featureCode: e.featureCode, amount: e.amount, periodResetAt: e.periodResetAt, keys: Object.keys(e).sort() });
    expect(entries.map((e) => e.totalAfter)).toEqual([1, 2, 3]);
    expect(shape(entries[0]!)).toEqual(shape(entries[2]!));
    expect(shape(entries[1]!)).toEqual(shape(entries[2]!));
    expect(entries[0]).toMatchObject({ licenseId: license.id, deviceId: device.id, featureCode: 'api-calls', amount: 1 });
    expect(await outboxOf(license.id)).toBe(0);
  });

  it('a later write moves the ledger entries a failed move left before it, each with its own total', async () => {
    const { account, license } = await licensed(false);
    vi.spyOn(t.services.ledger, 'insertMoves').mockRejectedValueOnce(new Error('ledger unavailable')).mockRejectedValueOnce(new Error('ledger unavailable'));
    await consume(account.id, license.id);
    await consume(account.id, license.id);
    expect(await outboxOf(license.id)).toBe(2);
    await consume(account.id, license.id);
    const entries = await t.services.ledger.entriesFor(account.id, license.id);
    expect(entries.map((e) => e.totalAfter)).toEqual([1, 2, 3]);
    expect(await outboxOf(license.id)).toBe(0);
  });

  it('keeps no event nobody subscribes to (the ledger entry is kept all the same)', async () => {
    const { account, license } = await licensed(false);
    await consume(account.id, license.id);
    expect(await t.services.events.list(account.id)).toEqual([]);
    expect(await t.services.ledger.entriesFor(account.id, license.id)).toHaveLength(1);
    expect(await outboxOf(license.id)).toBe(0);
    // Subscribed from now on: the next consumption's event is recorded (and only that one).
    await t.services.webhooks.create(account.id, { url: 'http://127.0.0.1:9/hooks', events: ['consumption.added'] });
    await consume(account.id, license.id);
    const events = await t.services.events.list(account.id);
    expect(events.map((e) => [e.type, (e.data as { totalUses: number }).totalUses])).toEqual([['consumption.added', 2]]);
  });

  it('moves an entry once even when a repair and a settle race for it', async () => {
    const { account, license } = await licensed();
    const [result] = await Promise.all([consume(account.id, license.id), t.services.eventOutbox.repair(new Date(Date.now() + 60_000))]);
    await t.services.eventOutbox.repair(new Date(Date.now() + 60_000));
    expect(result.meter.total).toBe(1);
    expect(await t.services.ledger.entriesFor(account.id, license.id)).toHaveLength(1);
    expect(await t.services.events.list(account.id, { type: 'consumption.added', subject: `license:${license.id}` })).toHaveLength(1);
    expect(await outboxOf(license.id)).toBe(0);
  });

  // ENGINE-ONLY (planner statistics): on MongoDB the same query is served by the `outbox.kind` index.
  it.skipIf(!!process.env.MONGODB_URI)('finds stranded entries by index: the repair reads only documents with pending entries', async () => {
    for (let i = 0; i < 20; i += 1) await licensed(false); // 20 licenses, 20 devices, nothing pending
    const { account, license } = await licensed(false);
    vi.spyOn(t.services.ledger, 'insertMoves').mockRejectedValueOnce(new Error('ledger unavailable'));
    await consume(account.id, license.id);
    const before = plannerStats.docsExamined;
    expect(await t.services.eventOutbox.repair(new Date(Date.now() + 60_000))).toBe(1);
    // The license with the stranded entry, found once per entry kind; no other document is read.
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(2);
    expect(await t.services.ledger.entriesFor(account.id, license.id)).toHaveLength(1);
  });
});
