import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import type { ConsumptionPeriod } from '../../server/domain/periods.js';
import type { TestServer } from '../support/server.js';
import { licenseFor, startLicenseApiServer } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

/**
 * Periodic reset at midnight UTC at the start of each period, applied lazily by the next consumption
 * and shown by check_license. The server runs on a ManualClock; the client signs Date headers from it.
 */
describe('License API v4 periodic consumption reset', () => {
  const clock = new ManualClock(new Date('2026-03-10T10:00:00Z'));
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock }));
  });
  afterAll(async () => t?.stop());

  // 2026-03-15 is a Sunday, 2026-03-16 a Monday.
  const cases: Array<{ period: ConsumptionPeriod; start: string; before: string; boundary: string }> = [
    { period: 'daily', start: '2026-03-10T10:00:00Z', before: '2026-03-10T23:59:59Z', boundary: '2026-03-11T00:00:00Z' },
    { period: 'weekly', start: '2026-03-11T10:00:00Z', before: '2026-03-15T23:59:59Z', boundary: '2026-03-16T00:00:00Z' },
    { period: 'monthly', start: '2026-03-16T10:00:00Z', before: '2026-03-31T23:59:59Z', boundary: '2026-04-01T00:00:00Z' },
    { period: 'annually', start: '2026-04-01T10:00:00Z', before: '2026-12-31T23:59:59Z', boundary: '2027-01-01T00:00:00Z' },
  ];

  for (const c of cases) {
    it(`${c.period}: the license total returns to 0 at ${c.boundary}, not before`, async () => {
      clock.set(c.start);
      const { license, ids } = await licenseFor(t, { consumption: { max: 5, reset: true, period: c.period } });
      expect((await client.post('add_consumption', { ...ids, consumptions: 5 })).body.total_consumptions).toBe(5);
      clock.set(c.before);
      expect((await client.post('add_consumption', ids)).body).toMatchObject({ code: 'license_not_enough_consumptions' });
      expect((await client.get('check_license', ids)).body.total_consumptions).toBe(5);
      clock.set(c.boundary);
      expect((await client.get('check_license', ids)).body.total_consumptions).toBe(0);
      expect((await t.services.licenses.getLicense(t.account.id, license.id)).consumption.total).toBe(5);
      const after = await client.post('add_consumption', { ...ids, consumptions: 2 });
      expect(after.status).toBe(200);
      expect(after.body.total_consumptions).toBe(2);
      const stored = await t.services.licenses.getLicense(t.account.id, license.id);
      expect(stored.consumption).toMatchObject({ total: 2, gross: 7 });
      // The period's end is in the ledger too (minus what the period closed with), so the ledger sums to the total.
      const entries = await t.services.ledger.entriesFor(t.account.id, license.id);
      expect(entries.map((e) => [e.event, e.amount, e.totalAfter])).toEqual([
        ['consumption_add', 5, 5],
        ['period_reset', -5, 0],
        ['consumption_add', 2, 2],
      ]);
      expect(entries[1]!.periodResetAt?.toISOString()).toBe(new Date(c.boundary).toISOString());
      expect(entries[0]!.periodResetAt?.toISOString()).toBe(new Date(c.boundary).toISOString());
      expect(entries.reduce((sum, e) => sum + e.amount, 0)).toBe(stored.consumption.total);
    });
  }

  it('a consumption refused in the new period still leaves the period end in the ledger at once (nothing pending, ledger = counter)', async () => {
    clock.set('2026-08-10T10:00:00Z');
    const { license, ids } = await licenseFor(t, { consumption: { max: 5, reset: true, period: 'daily' }, features: [{ code: 'api-calls', max: 3, reset: true, period: 'daily' }] });
    expect((await client.post('add_consumption', { ...ids, consumptions: 5 })).body.total_consumptions).toBe(5);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 3 })).body.total_consumptions).toBe(3);
    clock.set('2026-08-11T01:00:00Z');
    // Over the new period's limit: refused, after the period was reset by this request.
    expect((await client.post('add_consumption', { ...ids, consumptions: 6 })).body.code).toBe('license_not_enough_consumptions');
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 4 })).body.code).toBe('feature_not_enough_consumptions');
    const raw = await t.server.db.connection.db!.collection('licenses').findOne({ _id: license.id } as never);
    expect((raw?.outbox ?? []).filter((e: { kind: string }) => e.kind === 'ledger')).toEqual([]);
    const entries = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(entries.map((e) => [e.scope, e.event, e.amount, e.totalAfter])).toEqual([
      ['license', 'consumption_add', 5, 5],
      ['feature', 'consumption_add', 3, 3],
      ['license', 'period_reset', -5, 0],
      ['feature', 'period_reset', -3, 0],
    ]);
    const stored = await t.services.licenses.getLicense(t.account.id, license.id);
    expect(stored.consumption.total).toBe(0);
    expect(stored.features.find((f) => f.code === 'api-calls')!.total).toBe(0);
  });

  it('a feature with a monthly reset shows 0 in check_license after the 1st and counts afresh', async () => {
    clock.set('2026-05-20T08:00:00Z');
    const { ids } = await licenseFor(t, { features: [{ code: 'api-calls', max: 3, reset: true, period: 'monthly' }] });
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 3 })).body.total_consumptions).toBe(3);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls' })).body.code).toBe('feature_not_enough_consumptions');
    clock.set('2026-06-01T00:00:00Z');
    const checked = await client.get('check_license', ids);
    expect(checked.body.product_features.find((f: { code: string }) => f.code === 'api-calls').total_consumptions).toBe(0);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 3 })).body.total_consumptions).toBe(3);
  });

  it('checks the Date header against the injected clock', async () => {
    clock.set('2026-07-01T12:00:00Z');
    const { ids } = await licenseFor(t);
    expect((await client.get('check_license', ids, { date: new Date('2026-07-01T12:14:00Z') })).status).toBe(200);
    expect((await client.get('check_license', ids, { date: new Date('2026-07-01T12:16:00Z') })).body.code).toBe('date_header_diff');
  });
});
