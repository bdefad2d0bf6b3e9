import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.js';
import { expectError, licenseFor, productFor, startLicenseApiServer } from './fixtures.js';
import type { V4Client, V4Response } from './signed-fetch.js';

describe('License API v4 activation, check and deactivation', () => {
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer());
  });
  afterAll(async () => t?.stop());


  /** license_signature over `<hardware_id>#<license_key or username>#<validity ISO or empty>`, lower-cased. */
  const expectLicenseSignature = (res: V4Response, identity: string) => {
    const input = `${res.body.hardware_id}#${identity}#${res.body.validity_period ?? ''}`.toLowerCase();
    expect(client.verify(input, res.body.license_signature)).toBe(true);
    expect(client.verify(`${input}x`, res.body.license_signature)).toBe(false);
  };

  it('activates a key-based license, signed, with features and consumption state; re-activation is idempotent', async () => {
    const validUntil = new Date(Date.now() + 30 * 86_400_000);
    const { license, ids } = await licenseFor(t, { maxActivations: 2, validUntil, features: [{ code: 'api-calls', max: 250, allowOverages: true, maxOverages: 10 }, { code: 'export' }] }, []);
    const body = { ...ids, hardware_id: 'HW-Upper-1', os_ver: 'Ubuntu 24.04', hostname: 'build-01', app_ver: '2.1.0', variables: { seat: 'a' } };
    const first = await client.post('activate_license', body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      id: license.id,
      license_key: license.key,
      license_type: 'consumption',
      license_enabled: true,
      license_active: true,
      is_expired: false,
      validity_period: validUntil.toISOString(),
      max_activations: 2,
      times_activated: 1,
      max_consumptions: 100,
      total_consumptions: 0,
      hardware_id: 'HW-Upper-1',
      product_details: { short_code: ids.product, product_name: 'Demo product', authorization_method: 'license-key' },
    });
    expect(first.body.product_features).toEqual([
      expect.objectContaining({ code: 'api-calls', feature_type: 'consumption', max_consumption: 250, total_consumptions: 0, allow_overages: true, max_overages: 10 }),
      expect.objectContaining({ code: 'export', feature_type: 'activation' }),
    ]);
    expectLicenseSignature(first, license.key!);
    const again = await client.post('activate_license', body);
    expect(again.status).toBe(200);
    expect(again.body.times_activated).toBe(1);
    expect(again.body.device_id).toBe(first.body.device_id);
    const device = await t.services.devices.getDevice(t.account.id, first.body.device_id);
    expect(device).toMatchObject({ hostname: 'build-01', osVersion: 'Ubuntu 24.04', appVersion: '2.1.0', metadata: [{ key: 'seat', value: 'a' }] });
  });

  it('license_activated_max_times beyond max_activations, and a freed seat can be reused', async () => {
    const { license, ids } = await licenseFor(t, { maxActivations: 1 }, []);
    expect((await client.post('activate_license', { ...ids, hardware_id: 'a' })).status).toBe(200);
    expectError(await client.post('activate_license', { ...ids, hardware_id: 'b' }), 'license_activated_max_times');
    const off = await client.post('deactivate_license', { ...ids, hardware_id: 'a' });
    expect(off.status).toBe(200);
    expect(off.body).toBe('license_deactivated');
    expect(off.text).toBe('"license_deactivated"');
    expectError(await client.get('check_license', { ...ids, hardware_id: 'a' }), 'device_not_found');
    expectError(await client.post('deactivate_license', { ...ids, hardware_id: 'a' }), 'device_not_found');
    expect((await client.post('activate_license', { ...ids, hardware_id: 'b' })).status).toBe(200);
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).timesActivated).toBe(1);
  });

  it('refuses blacklisted devices, disabled and expired licenses, unknown products and keys', async () => {
    const { ids } = await licenseFor(t, {}, []);
    const activated = await client.post('activate_license', ids);
    await t.services.devices.setBlacklisted(t.account.id, activated.body.device_id, true);
    expectError(await client.post('activate_license', ids), 'blacklisted');
    expectError(await client.get('check_license', ids), 'blacklisted');
    expectError(await client.post('add_feature_consumption', { ...ids, feature: 'api-calls' }), 'blacklisted');

    const disabled = await licenseFor(t, { enabled: false }, []);
    expectError(await client.post('activate_license', disabled.ids), 'license_not_enabled');
    const expired = await licenseFor(t, { validUntil: new Date(Date.now() - 1000) }, []);
    expectError(await client.post('activate_license', expired.ids), 'license_expired');
    expectError(await client.post('activate_license', { ...ids, product: 'no-such-product' }), 'unknown_product');
    expectError(await client.post('activate_license', { ...ids, license_key: 'NOPE-NOPE' }), 'license_not_found');
    expectError(await client.post('activate_license', { ...ids, license_id: 1 }), 'license_not_found');
  });

  it('check_license answers the current state and license_id pins the license', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10 } });
    await client.post('add_consumption', { ...ids, consumptions: 4 });
    const res = await client.get('check_license', { ...ids, license_id: String(license.id), app_ver: '1.0' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: license.id, total_consumptions: 4, max_consumptions: 10, validity_period: null, hardware_id: 'hw-1' });
    expectLicenseSignature(res, license.key!);
    expectError(await client.get('check_license', { ...ids, license_id: '42' }), 'license_not_found');
    expectError(await client.get('check_license', { ...ids, hardware_id: 'unknown-device' }), 'device_not_found');
    await t.services.devices.setBlacklisted(t.account.id, res.body.device_id, false);
  });

  it('user-based licenses: username + password to activate, username to check and consume', async () => {
    const product = await productFor(t);
    const email = `user-${Date.now()}@example.com`;
    const license = await t.services.licenses.createLicense(t.account.id, {
      productId: product.id,
      type: 'consumption',
      maxActivations: 2,
      consumption: { max: 5 },
      key: null,
    });
    await t.services.licenseUsers.assignUser(t.account.id, license.id, { email, password: 'correct horse' });
    const ids = { product: product.shortCode, username: email, hardware_id: 'u-hw' };
    expectError(await client.post('activate_license', { ...ids, password: 'wrong' }), 'license_not_found');
    const res = await client.post('activate_license', { ...ids, password: 'correct horse' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: license.id, license_key: null, username: email, product_details: { authorization_method: 'user' } });
    expectLicenseSignature(res, email);
    const checked = await client.get('check_license', ids);
    expect(checked.status).toBe(200);
    expectLicenseSignature(checked, email);
    const consumed = await client.post('add_consumption', { ...ids, consumptions: 2 });
    expect(consumed.body.total_consumptions).toBe(2);
    expect((await client.post('deactivate_license', ids)).status).toBe(200);
  });

  it('rejects requests naming both license_key and username, or neither', async () => {
    const { ids } = await licenseFor(t, {}, []);
    expectError(await client.post('activate_license', { ...ids, username: 'x@example.com', password: 'p' }), 'validation_error');
    expectError(await client.post('add_consumption', { ...ids, username: 'x@example.com' }), 'validation_error');
    expectError(await client.post('add_consumption', { product: ids.product, hardware_id: 'hw-1' }), 'missing_parameters');
    expectError(await client.get('check_license', { product: ids.product, hardware_id: 'hw-1' }), 'missing_parameters');
    expectError(await client.get('check_license', { ...ids, username: 'x@example.com' }), 'validation_error');
  });
});
