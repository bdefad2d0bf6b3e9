import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.js';
import { ManualClock } from '../support/clock.js';
import { expectError, startLicenseApiServer } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

const DAY_MS = 86_400_000;

describe('License API v4 product_details and trial_key', () => {
  const clock = new ManualClock(new Date('2026-03-10T10:00:00.000Z'));
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock }));
  });
  afterAll(async () => t?.stop());

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function management(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${t.baseUrl}${path}`, {
      method,
      headers: { authorization: `Api-Key ${t.credentials.managementApiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() };
  }

  let seq = 0;
  /** A product made through the Management API with these trial settings, and a feature `export`. */
  async function product(trial: { allow_trial?: boolean; trial_days?: number }) {
    seq += 1;
    const created = await management('POST', '/api/v1/products/', { product_name: `Trial app ${seq}`, short_code: `trial${seq}`, ...trial });
    expect(created.status).toBe(201);
    expect((await management('POST', '/api/v1/product-features/', { product: created.body.id, code: 'export', name: 'Export', feature_type: 'activation' })).status).toBe(201);
    return created.body as { id: number; short_code: string; product_name: string };
  }

  /** The trial licenses stored for a device of a product. */
  const storedTrials = (productId: number, hardwareId: string) => t.server.db.models.License.countDocuments({ accountId: t.account.id, productId, trialHardwareId: hardwareId });

  describe('Management API trial settings', () => {
    it('creates a product with allow_trial and trial_days, defaults them to false and 0, and changes them', async () => {
      const trial = await product({ allow_trial: true, trial_days: 14 });
      expect(trial).toMatchObject({ allow_trial: true, trial_days: 14 });
      const plain = await product({});
      expect(plain).toMatchObject({ allow_trial: false, trial_days: 0 });
      const changed = await management('PATCH', `/api/v1/products/${plain.id}/`, { allow_trial: true, trial_days: 30 });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ id: plain.id, product_name: plain.product_name, allow_trial: true, trial_days: 30 });
      const renamed = await management('PATCH', `/api/v1/products/${plain.id}/`, { product_name: 'Renamed' });
      expect(renamed.body).toMatchObject({ product_name: 'Renamed', allow_trial: true, trial_days: 30 });
      expect((await management('GET', `/api/v1/products/${plain.id}/`)).body).toEqual(renamed.body);
    });

    it('refuses a trial without days (400 validation_failed) on create and on update, and changes nothing', async () => {
      const created = await management('POST', '/api/v1/products/', { product_name: 'No days', short_code: 'nodays', allow_trial: true });
      expect(created.body).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(created.status).toBe(400);
      const plain = await product({});
      const update = await management('PATCH', `/api/v1/products/${plain.id}/`, { allow_trial: true });
      expect(update.body).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(update.status).toBe(400);
      const tooLong = await management('PATCH', `/api/v1/products/${plain.id}/`, { trial_days: 3651 });
      expect(tooLong.status).toBe(400);
      expect((await management('GET', `/api/v1/products/${plain.id}/`)).body).toMatchObject({ allow_trial: false, trial_days: 0 });
    });
  });

  describe('product_details', () => {
    it('answers the product and its trial settings, with the vendor fields, signed', async () => {
      const p = await product({ allow_trial: true, trial_days: 14 });
      const res = await client.get('product_details', { product: p.short_code });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        product_id: p.id,
        product_name: p.product_name,
        short_code: p.short_code,
        authorization_method: 'license-key',
        allow_trial: true,
        trial_days: 14,
        floating_timeout: 0,
        allow_overages: false,
        max_overages: 0,
        prevent_vm: false,
        metadata: {},
      });
      const full = await client.get('product_details', { product: p.short_code, include_custom_fields: 'true', include_latest_version: 'true' });
      expect(full.status).toBe(200);
      expect(full.body).toEqual({ ...res.body, custom_fields: [], latest_version: null });
      const off = await client.get('product_details', { product: p.short_code, include_custom_fields: 'false', include_latest_version: 'false' });
      expect(off.body).toEqual(res.body);
    });

    it('shows a change of the trial settings at once', async () => {
      const p = await product({});
      expect((await client.get('product_details', { product: p.short_code })).body).toMatchObject({ allow_trial: false, trial_days: 0 });
      await management('PATCH', `/api/v1/products/${p.id}/`, { allow_trial: true, trial_days: 7 });
      expect((await client.get('product_details', { product: p.short_code })).body).toMatchObject({ allow_trial: true, trial_days: 7 });
    });

    it('unknown_product for a product the account does not have', async () => {
      expectError(await client.get('product_details', { product: 'no-such-product' }), 'unknown_product');
      const other = await t.createAccount('trials-other');
      const theirs = await t.services.products.createProduct(other.account.id, { name: 'Theirs', shortCode: 'theirs', allowTrial: true, trialDays: 5 });
      expectError(await client.get('product_details', { product: theirs.shortCode }), 'unknown_product');
    });
  });

  describe('trial_key', () => {
    it('creates the device trial license per the product trial settings, then answers the same one', async () => {
      const p = await product({ allow_trial: true, trial_days: 14 });
      const first = await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-hw-1' });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        id: expect.any(Number),
        license_key: expect.stringMatching(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/),
        order_id: 0,
        product_id: p.id,
        license_type: 'time-limited',
        is_trial: true,
        active: false,
        enabled: true,
        max_activations: 1,
        times_activated: 0,
        max_transfers: 0,
        trial_days: 14,
        validity_period: new Date(clock.now().getTime() + 14 * DAY_MS).toISOString(),
        enable_maintenance_period: false,
        maintenance_duration: null,
        prevent_vm: false,
        is_hardware_key_auth: false,
        metadata: {},
        created_at: clock.now().getTime(),
        updated_at: clock.now().getTime(),
      });
      const license = await t.services.licenses.getLicense(t.account.id, first.body.id);
      expect(license).toMatchObject({ key: first.body.license_key, isTrial: true, type: 'time-limited', maxActivations: 1, productId: p.id });
      expect(license.features.map((f) => f.code)).toEqual(['export']);

      const again = await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-hw-1' });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      const otherDevice = await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-hw-2' });
      expect(otherDevice.status).toBe(200);
      expect(otherDevice.body.id).not.toBe(first.body.id);
      expect(otherDevice.body.license_key).not.toBe(first.body.license_key);
      expect(await storedTrials(p.id, 'trial-hw-1')).toBe(1);
    });

    it('a trial key activates and checks like any license key, and the trial_key answer shows it active', async () => {
      const p = await product({ allow_trial: true, trial_days: 3 });
      const trial = (await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-act' })).body;
      const ids = { product: p.short_code, license_key: trial.license_key, hardware_id: 'trial-act' };
      const activated = await client.post('activate_license', ids);
      expect(activated.status).toBe(200);
      expect(activated.body).toMatchObject({ id: trial.id, is_trial: true, license_type: 'time-limited', validity_period: trial.validity_period, times_activated: 1, is_expired: false });
      expect((await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-act' })).body).toMatchObject({ id: trial.id, active: true, times_activated: 1 });
      expectError(await client.post('activate_license', { ...ids, hardware_id: 'another-device' }), 'license_activated_max_times');
    });

    it('trial_expired once the device trial has run out, and the license check says license_expired', async () => {
      const p = await product({ allow_trial: true, trial_days: 2 });
      const trial = (await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-exp' })).body;
      const ids = { product: p.short_code, license_key: trial.license_key, hardware_id: 'trial-exp' };
      expect((await client.post('activate_license', ids)).status).toBe(200);
      clock.advance(2 * DAY_MS - 1000);
      expect((await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-exp' })).status).toBe(200);
      clock.advance(2000);
      try {
        expectError(await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-exp' }), 'trial_expired');
        expectError(await client.get('check_license', ids), 'license_expired');
        expect(await storedTrials(p.id, 'trial-exp')).toBe(1);
        // Another device still gets its own trial.
        expect((await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-exp-2' })).status).toBe(200);
      } finally {
        clock.set('2026-03-10T10:00:00.000Z');
      }
    });

    it('trial_not_allowed when the product does not allow trials (nothing is created), unknown_product for another account product', async () => {
      const p = await product({});
      const refused = await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-no' });
      expectError(refused, 'trial_not_allowed');
      expect(refused.body.message).toBe('Product does not allow trial');
      expect(await storedTrials(p.id, 'trial-no')).toBe(0);
      await management('PATCH', `/api/v1/products/${p.id}/`, { allow_trial: true, trial_days: 5 });
      expect((await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-no' })).body).toMatchObject({ trial_days: 5 });
      expectError(await client.get('trial_key', { product: 'no-such-product', hardware_id: 'trial-no' }), 'unknown_product');
    });

    it('accepts the vendor optional parameters (email, customer fields, license_policy)', async () => {
      const p = await product({ allow_trial: true, trial_days: 10 });
      const res = await client.get('trial_key', { product: p.short_code, hardware_id: 'trial-opt', email: 'jane@example.com', first_name: 'Jane', last_name: 'Doe', phone: '123', license_policy: 'default', country: 'HR', reference: 'r1' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ product_id: p.id, trial_days: 10 });
    });

    it('exactly once: 20 parallel trial_key calls of one device create one trial license and all answer it', async () => {
      const p = await product({ allow_trial: true, trial_days: 14 });
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.get('trial_key', { product: p.short_code, hardware_id: 'trial-race' })));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      const ids = new Set(answers.map((a) => a.body.id));
      const keys = new Set(answers.map((a) => a.body.license_key));
      expect(ids.size).toBe(1);
      expect(keys.size).toBe(1);
      expect(await storedTrials(p.id, 'trial-race')).toBe(1);
      expect(await t.server.db.models.License.countDocuments({ accountId: t.account.id, productId: p.id })).toBe(1);
    });
  });
});
