import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { clientFor, licenseFor } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

/**
 * add_feature_consumption skips reading the license once it has seen the (product, key, feature):
 * whatever can change since must still be caught by the guarded update, with nothing counted.
 */
describe('add_feature_consumption after the license was seen (no read before the update)', () => {
  let t: TestServer;
  let client: V4Client;
  beforeAll(async () => {
    t = await startTestServer();
    client = await clientFor(t);
  });
  afterAll(async () => t?.stop());

  const total = async (licenseId: number, code: string) => (await t.services.licenses.getLicense(t.account.id, licenseId)).features.find((f) => f.code === code)?.total;

  it('rejects a feature removed from the license since, changing nothing', async () => {
    const { license, ids } = await licenseFor(t);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 2 })).status).toBe(200);
    await t.services.licenseAdmin.updateFeatures(t.account.id, license.id, [{ code: 'export' }]);
    const res = await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 1 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('unsupported_product_feature');
    expect(await total(license.id, 'api-calls')).toBeUndefined();
    expect((await t.services.ledger.entriesFor(t.account.id, license.id)).filter((e) => e.featureCode === 'api-calls').map((e) => e.amount)).toEqual([2]);
  });

  it('rejects a license disabled since, and a license_id that is not the license', async () => {
    const { license, ids } = await licenseFor(t);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls' })).status).toBe(200);
    const wrongId = await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', license_id: license.id + 1 });
    expect(wrongId.status).toBe(400);
    expect(wrongId.body.code).toBe('license_not_found');
    await t.services.licenseAdmin.setEnabled(t.account.id, license.id, false);
    const disabled = await client.post('add_feature_consumption', { ...ids, feature: 'api-calls' });
    expect(disabled.status).toBe(400);
    expect(disabled.body.code).toBe('license_not_enabled');
    expect(await total(license.id, 'api-calls')).toBe(1);
  });

  it('still refuses an activation feature and an unknown device after a cached consumption', async () => {
    const { license, ids } = await licenseFor(t);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls' })).status).toBe(200);
    const activationFeature = await client.post('add_feature_consumption', { ...ids, feature: 'export' });
    expect(activationFeature.status).toBe(400);
    expect(activationFeature.body.code).toBe('unsupported_product_feature');
    const otherDevice = await client.post('add_feature_consumption', { ...ids, hardware_id: 'not-activated', feature: 'api-calls' });
    expect(otherDevice.status).toBe(400);
    expect(otherDevice.body.code).toBe('device_not_found');
    expect(await total(license.id, 'api-calls')).toBe(1);
    expect(await total(license.id, 'export')).toBe(0);
  });
});
