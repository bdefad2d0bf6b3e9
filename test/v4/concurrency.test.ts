import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.js';
import { licenseFor, startLicenseApiServer, tally } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

/** Many parallel HTTP requests against one limit: the exact number accepted and the exact final value. */
describe('License API v4 concurrency', () => {
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer());
  });
  afterAll(async () => t?.stop());

  it('600 parallel add_feature_consumption of 1 against max 250: exactly 250 accepted', async () => {
    const { license, ids } = await licenseFor(t, { features: [{ code: 'api-calls', max: 250 }] });
    const responses = await Promise.all(Array.from({ length: 600 }, () => client.post('add_feature_consumption', { ...ids, feature: 'api-calls' })));
    expect(tally(responses)).toEqual({ '200': 250, '400 feature_not_enough_consumptions': 350 });
    expect(new Set(responses.filter((r) => r.status === 200).map((r) => r.body.total_consumptions)).size).toBe(250);
    const stored = await t.services.licenses.getLicense(t.account.id, license.id);
    expect(stored.features.find((f) => f.code === 'api-calls')!.total).toBe(250);
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(ledger).toHaveLength(250);
    expect(ledger.reduce((sum, e) => sum + e.amount, 0)).toBe(250);
  });

  it('600 parallel add_consumption of 1 against max 250: exactly 250 accepted', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 250 } });
    const responses = await Promise.all(Array.from({ length: 600 }, () => client.post('add_consumption', ids)));
    expect(tally(responses)).toEqual({ '200': 250, '400 license_not_enough_consumptions': 350 });
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).consumption.total).toBe(250);
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(ledger).toHaveLength(250);
    expect(ledger.reduce((sum, e) => sum + e.amount, 0)).toBe(250);
  });

  it('a parallel mix of +3 and -1 with negatives allowed: the final total is the sum of the accepted amounts', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 100, allowNegative: true }, features: [{ code: 'api-calls', max: 100, allowNegative: true }] });
    // Start from 50 so decrements and increments are both accepted in the race.
    expect((await client.post('add_consumption', { ...ids, consumptions: 50 })).status).toBe(200);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 50 })).status).toBe(200);
    const amounts = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? -1 : 3));
    const license_ = await Promise.all(amounts.map((consumptions) => client.post('add_consumption', { ...ids, consumptions })));
    const feature = await Promise.all(amounts.map((consumptions) => client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions })));
    const stored = await t.services.licenses.getLicense(t.account.id, license.id);
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    for (const [responses, total, scope] of [
      [license_, stored.consumption.total, 'license'],
      [feature, stored.features.find((f) => f.code === 'api-calls')!.total, 'feature'],
    ] as const) {
      const accepted = amounts.filter((_, i) => responses[i]!.status === 200);
      const rejectedCodes = new Set(responses.filter((r) => r.status !== 200).map((r) => r.body.code));
      for (const code of rejectedCodes) expect(['license_not_enough_consumptions', 'feature_not_enough_consumptions', 'negative_consumptions_not_allowed']).toContain(code);
      expect(accepted).toContain(-1);
      expect(accepted).toContain(3);
      const sum = 50 + accepted.reduce((a, b) => a + b, 0);
      expect(total).toBe(sum);
      expect(total).toBeGreaterThanOrEqual(0);
      expect(total).toBeLessThanOrEqual(100);
      const entries = ledger.filter((e) => e.scope === scope);
      expect(entries).toHaveLength(accepted.length + 1);
      expect(entries.reduce((s, e) => s + e.amount, 0)).toBe(sum);
    }
  });

  for (const path of ['add_consumption', 'add_feature_consumption'] as const) {
    it(`50 parallel retries of ${path} with one Idempotency-Key count once and all get the original response`, async () => {
      const { license, ids } = await licenseFor(t, { consumption: { max: 100 }, features: [{ code: 'api-calls', max: 100 }] });
      const body = path === 'add_consumption' ? { ...ids, consumptions: 2 } : { ...ids, feature: 'api-calls', consumptions: 2 };
      const headers = { 'Idempotency-Key': `parallel-${path}` };
      const responses = await Promise.all(Array.from({ length: 50 }, () => client.post(path, body, { headers })));
      expect(tally(responses)).toEqual({ '200': 50 });
      expect(new Set(responses.map((r) => r.text)).size).toBe(1);
      expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(49);
      expect(responses[0]!.body.total_consumptions).toBe(2);
      const stored = await t.services.licenses.getLicense(t.account.id, license.id);
      expect(path === 'add_consumption' ? stored.consumption.total : stored.features.find((f) => f.code === 'api-calls')!.total).toBe(2);
      expect(await t.services.ledger.entriesFor(t.account.id, license.id)).toHaveLength(1);
    });
  }
});
