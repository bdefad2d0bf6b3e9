/**
 * The fields the vendor's clients parse in activate_license / check_license and add_feature_consumption
 * answers beyond the seeds (issue #20): every field of the vendor's check_license example and SDK
 * response types, with the neutral values V4License documents, and `license_signature_v2`.
 * Every response here is validated against the spec by the test server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.js';
import { licenseFor, productFor, startLicenseApiServer } from './fixtures.js';
import type { V4Client, V4Response } from './signed-fetch.js';

/** Field names of the vendor's License API check_license response example (its signatures included). */
const VENDOR_CHECK_FIELDS = [
  'id', 'order_store_id', 'license_active', 'license_enabled', 'license_type', 'license_key', 'is_trial', 'validity_period',
  'maintenance_period', 'allow_grace_period', 'grace_period', 'max_activations', 'allow_unlimited_activations', 'times_activated',
  'start_date', 'transfer_count', 'max_transfers', 'allow_overages', 'max_overages', 'is_floating_cloud', 'is_floating',
  'floating_timeout', 'can_borrow', 'max_borrow_time', 'prevent_vm', 'custom_fields', 'product_features', 'customer',
  'product_details', 'metadata', 'max_consumptions', 'total_consumptions', 'allow_unlimited_consumptions', 'reset_consumption',
  'consumption_period', 'device_id', 'is_borrowed', 'borrowed_until', 'is_expired', 'version', 'installation_file', 'release_date',
  'hash_md5', 'requires_version', 'environment', 'eula_link', 'release_notes_link', 'size', 'channel', 'hardware_id',
  'license_signature', 'license_signature_v2',
];

/** Required fields of the vendor SDK's LicenseResponseBase / ActivateLicenseResponse not in the example. */
const VENDOR_SDK_FIELDS = ['active', 'allow_offline_activation', 'enable_maintenance_period', 'is_air_gapped', 'is_hardware_key_auth', 'company'];

const NEUTRAL = {
  order_store_id: null,
  allow_grace_period: false,
  grace_period: 0,
  enable_maintenance_period: false,
  maintenance_period: null,
  start_date: null,
  allow_unlimited_activations: false,
  allow_offline_activation: false,
  transfer_count: 0,
  max_transfers: 0,
  is_air_gapped: false,
  is_hardware_key_auth: false,
  custom_fields: [],
  customer: { email: '', company_name: '', reference: '', phone: '', first_name: '', last_name: '', city: '', postcode: '', state: '', country: '', address: '', customer_account: null, metadata: {} },
  version: '',
  installation_file: '',
  release_date: '',
  hash_md5: '',
  requires_version: '',
  environment: '',
  eula_link: '',
  release_notes_link: '',
  size: '',
  channel: '',
};

describe('License API v4 response fields clients parse', () => {
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer());
  });
  afterAll(async () => t?.stop());

  /** license_signature_v2: RSA over JSON.stringify of the body without both signatures, key order as sent. */
  const expectSignatureV2 = (res: V4Response) => {
    const { license_signature: _v1, license_signature_v2: v2, ...rest } = res.body as Record<string, unknown>;
    expect(typeof v2).toBe('string');
    expect(client.verify(JSON.stringify(rest), v2 as string)).toBe(true);
    expect(client.verify(JSON.stringify({ ...rest, total_consumptions: 999 }), v2 as string)).toBe(false);
  };

  it('activate_license and check_license answer every vendor field, neutral where the server does not model it, and a verifiable license_signature_v2', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10 } }, []);
    const activated = await client.post('activate_license', ids);
    expect(activated.status).toBe(200);
    expect(Object.keys(activated.body)).toEqual(expect.arrayContaining([...VENDOR_CHECK_FIELDS, ...VENDOR_SDK_FIELDS]));
    expect(activated.body).toMatchObject({ ...NEUTRAL, active: true, license_active: true, company: { id: t.account.id } });
    expect(activated.body).not.toHaveProperty('user');
    expectSignatureV2(activated);

    await client.post('add_consumption', { ...ids, consumptions: 3 });
    const checked = await client.get('check_license', ids);
    expect(checked.status).toBe(200);
    expect(Object.keys(checked.body)).toEqual(expect.arrayContaining([...VENDOR_CHECK_FIELDS, ...VENDOR_SDK_FIELDS]));
    expect(checked.body).toMatchObject({ ...NEUTRAL, id: license.id, active: true, total_consumptions: 3, company: { id: t.account.id } });
    expectSignatureV2(checked);
    expect(checked.body.license_signature_v2).not.toBe(activated.body.license_signature_v2);
  });

  it('user-based licenses answer the license user as `user` (the license activations), no license_key', async () => {
    const product = await productFor(t);
    const email = `fields-${Date.now()}@example.com`;
    const license = await t.services.licenses.createLicense(t.account.id, {
      productId: product.id,
      type: 'perpetual',
      maxActivations: 4,
      key: null,
    });
    const { user: created } = await t.services.licenseUsers.assignUser(t.account.id, license.id, { email, password: 'correct horse', firstName: 'Jane', lastName: 'Doe' });
    const ids = { product: product.shortCode, username: email, hardware_id: 'u-fields' };
    const activated = await client.post('activate_license', { ...ids, password: 'correct horse' });
    expect(activated.status).toBe(200);
    const userId = created.id;
    const user = { id: userId, email, first_name: 'Jane', last_name: 'Doe', phone_number: '', is_initial_password: true, max_activations: 4, allow_unlimited_activations: false, total_activations: 1 };
    expect(activated.body).toMatchObject({ license_key: null, username: email, user });
    const checked = await client.get('check_license', ids);
    expect(checked.body.user).toEqual(user);
    expectSignatureV2(checked);
  });
});
