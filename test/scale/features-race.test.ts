import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.js';
import { startLicenseApiServer } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';
import { featureCodes, featureTotals, licenseWithFeatures, managementLicense, tally } from './support.js';

const CODES = featureCodes(200);
const RACED = CODES[136]!;

/** A license with 200 consumption features: a limit stays exact on one of them, and the 199 others keep their totals. */
describe('a license with 200 features', () => {
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer());
  });
  afterAll(async () => t?.stop());

  it('120 parallel add_feature_consumption of 1 on the 137th (limit 100): exactly 100 accepted, the other 199 unchanged', async () => {
    const { license, ids } = await licenseWithFeatures(t, CODES, { [RACED]: { max: 100 } });
    // Every other feature starts with its own total (its number: f-005 has 5), 20 requests at a time.
    const others = CODES.filter((code) => code !== RACED);
    for (let i = 0; i < others.length; i += 20) {
      const batch = await Promise.all(others.slice(i, i + 20).map((code) => client.post('add_feature_consumption', { ...ids, feature: code, consumptions: Number(code.slice(2)) })));
      expect(tally(batch)).toEqual({ '200': batch.length });
    }
    const expectedOthers = Object.fromEntries(others.map((code) => [code, Number(code.slice(2))]));

    const responses = await Promise.all(Array.from({ length: 120 }, () => client.post('add_feature_consumption', { ...ids, feature: RACED })));
    expect(tally(responses)).toEqual({ '200': 100, '400 feature_not_enough_consumptions': 20 });
    expect(responses.filter((r) => r.status === 200).map((r) => r.body.total_consumptions).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    expect(featureTotals(await managementLicense(t, license.id))).toEqual({ ...expectedOthers, [RACED]: 100 });
    // The ledger: 100 entries of 1 on the raced feature, and each other feature's one entry of its total.
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(ledger.filter((e) => e.featureCode === RACED).map((e) => e.amount)).toEqual(Array.from({ length: 100 }, () => 1));
    const otherEntries = ledger.filter((e) => e.featureCode !== RACED);
    expect(Object.fromEntries(otherEntries.map((e) => [e.featureCode, e.amount]))).toEqual(expectedOthers);
    expect(otherEntries).toHaveLength(199);
  }, 120_000);
});
