import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../server/domain/events.js';
import { ManualClock } from '../support/clock.js';
import type { TestServer } from '../support/server.js';
import { subscribeToAllEvents } from '../v3/support.js';
import { licenseFor, startLicenseApiServer, tally } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

type Threshold = { licenseId: string; meterAttribute: string | null; thresholdPercent: number; thresholdUses: number; limit: number; totalUses: number; period: string | null; periodEndsAt: string | null; at: string };

/**
 * Consumption alert thresholds (`consumption.threshold-reached`): decided by the consumption's own
 * guarded write, so each threshold is recorded exactly once per period however many consumptions
 * race across it. The server runs on a ManualClock (period resets); every event type is subscribed
 * to, so events are recorded.
 */
describe('License API v4 consumption alert thresholds', () => {
  const clock = new ManualClock(new Date('2026-03-10T10:00:00Z'));
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock }));
    await subscribeToAllEvents(t);
  });
  afterAll(async () => t?.stop());

  const thresholdEvents = async (licenseId: number): Promise<Threshold[]> =>
    (await t.services.events.list(t.account.id, { subject: `license:${licenseId}`, type: 'consumption.threshold-reached' })).map((e: RecordedEvent) => e.data as Threshold);

  it('300 parallel add_feature_consumption of 1 against max 250: 250 accepted, 80 % and 100 % recorded exactly once each, by the consumptions that crossed them', async () => {
    const { license, ids } = await licenseFor(t, { features: [{ code: 'api-calls', max: 250 }] });
    const responses = await Promise.all(Array.from({ length: 300 }, () => client.post('add_feature_consumption', { ...ids, feature: 'api-calls' })));
    expect(tally(responses)).toEqual({ '200': 250, '400 feature_not_enough_consumptions': 50 });
    const stored = await t.services.licenses.getLicense(t.account.id, license.id);
    expect(stored.features.find((f) => f.code === 'api-calls')!.total).toBe(250);
    const at = clock.now().toISOString();
    expect(await thresholdEvents(license.id)).toEqual([
      { licenseId: String(license.id), meterAttribute: 'api-calls', thresholdPercent: 80, thresholdUses: 200, limit: 250, totalUses: 200, period: null, periodEndsAt: null, at },
      { licenseId: String(license.id), meterAttribute: 'api-calls', thresholdPercent: 100, thresholdUses: 250, limit: 250, totalUses: 250, period: null, periodEndsAt: null, at },
    ]);
    expect((await t.services.ledger.entriesFor(t.account.id, license.id)).reduce((sum, e) => sum + e.amount, 0)).toBe(250);
  });

  it('300 parallel add_consumption of 1 to 3 against max 300 with overages to 360: the exact total, 80 % and 100 % once each (100 % at the limit, overages allowed)', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 300, allowOverages: true, maxOverages: 60 } });
    const amounts = Array.from({ length: 300 }, (_, i) => (i % 3) + 1);
    const responses = await Promise.all(amounts.map((consumptions) => client.post('add_consumption', { ...ids, consumptions })));
    const accepted = amounts.filter((_, i) => responses[i]!.status === 200);
    for (const r of responses) if (r.status !== 200) expect(r.body.code).toBe('license_not_enough_consumptions');
    const total = accepted.reduce((a, b) => a + b, 0);
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).consumption.total).toBe(total);
    // The ceiling is 360: the total stops within 2 of it (a 3 that would pass it is refused).
    expect(total).toBeLessThanOrEqual(360);
    expect(total).toBeGreaterThanOrEqual(358);
    const events = await thresholdEvents(license.id);
    expect(events.map((e) => [e.meterAttribute, e.thresholdPercent, e.thresholdUses, e.limit])).toEqual([
      [null, 80, 240, 300],
      [null, 100, 300, 300],
    ]);
    // Each was recorded by the consumption that took the total from below the threshold to at least it.
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    for (const e of events) {
      const crossing = ledger.filter((l) => l.scope === 'license' && l.totalAfter! >= e.thresholdUses && l.totalAfter! - l.amount < e.thresholdUses);
      expect(crossing).toHaveLength(1);
      expect(e.totalUses).toBe(crossing[0]!.totalAfter);
    }
  });

  it('a period reset arms the thresholds again; a refund below a threshold and a consumption back above it record nothing', async () => {
    clock.set('2026-03-10T10:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 10, allowNegative: true, reset: true, period: 'daily' } });
    const add = async (consumptions: number) => {
      const res = await client.post('add_consumption', { ...ids, consumptions });
      expect(res.status).toBe(200);
      return res.body.total_consumptions as number;
    };
    expect(await add(8)).toBe(8);
    expect(await add(-3)).toBe(5);
    expect(await add(3)).toBe(8);
    expect(await add(-8)).toBe(0);
    expect(await add(9)).toBe(9);
    let events = await thresholdEvents(license.id);
    expect(events.map((e) => [e.thresholdPercent, e.totalUses, e.period, e.periodEndsAt])).toEqual([[80, 8, 'daily', '2026-03-11T00:00:00.000Z']]);
    expect(await add(1)).toBe(10);
    clock.set('2026-03-11T09:00:00Z');
    expect(await add(10)).toBe(10);
    events = await thresholdEvents(license.id);
    expect(events.map((e) => [e.thresholdPercent, e.totalUses, e.periodEndsAt, e.at])).toEqual([
      [80, 8, '2026-03-11T00:00:00.000Z', '2026-03-10T10:00:00.000Z'],
      [100, 10, '2026-03-11T00:00:00.000Z', '2026-03-10T10:00:00.000Z'],
      // The next day: one consumption of 10 reaches both again.
      [80, 10, '2026-03-12T00:00:00.000Z', '2026-03-11T09:00:00.000Z'],
      [100, 10, '2026-03-12T00:00:00.000Z', '2026-03-11T09:00:00.000Z'],
    ]);
  });

  it('a counter without a limit, or with no thresholds, records none; thresholds set later apply from then on (those already passed are not reached again)', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10, unlimited: true }, features: [{ code: 'api-calls', max: 20, alertThresholds: [] }] });
    expect((await client.post('add_consumption', { ...ids, consumptions: 50 })).status).toBe(200);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 12 })).status).toBe(200);
    expect(await thresholdEvents(license.id)).toEqual([]);
    await t.services.licenseAdmin.updateFeatures(t.account.id, license.id, [{ code: 'api-calls', alertThresholds: [100, 50] }]);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 8 })).status).toBe(200);
    expect((await thresholdEvents(license.id)).map((e) => [e.meterAttribute, e.thresholdPercent, e.totalUses])).toEqual([['api-calls', 100, 20]]);
  });

  it('deactivate_license with consumptions records the thresholds its consumption reaches', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 4, alertThresholds: [50] } });
    const res = await client.post('deactivate_license', { ...ids, consumptions: 3 });
    expect(res.status).toBe(200);
    expect((await thresholdEvents(license.id)).map((e) => [e.thresholdPercent, e.thresholdUses, e.totalUses])).toEqual([[50, 2, 3]]);
  });
});
