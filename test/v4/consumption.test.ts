import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.js';
import { expectError, licenseFor, startLicenseApiServer } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

describe('License API v4 consumption', () => {
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer());
  });
  afterAll(async () => t?.stop());

  const stored = (licenseId: number) => t.services.licenses.getLicense(t.account.id, licenseId);
  const ledger = (licenseId: number) => t.services.ledger.entriesFor(t.account.id, licenseId);

  it('add_consumption answers exactly the seed schema, signed, and records a ledger entry', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10, reset: true, period: 'monthly' } });
    const res = await client.post('add_consumption', { ...ids, consumptions: 3 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: license.id,
      max_consumptions: 10,
      total_consumptions: 3,
      allow_unlimited_consumptions: false,
      allow_negative_consumptions: false,
      allow_overages: false,
      max_overages: 0,
      reset_consumption: true,
      consumption_period: 'monthly',
    });
    const defaulted = await client.post('add_consumption', ids);
    expect(defaulted.body.total_consumptions).toBe(4);
    const entries = await ledger(license.id);
    expect(entries.map((e) => [e.scope, e.amount, e.totalAfter, e.event])).toEqual([
      ['license', 3, 3, 'consumption_add'],
      ['license', 1, 4, 'consumption_add'],
    ]);
  });

  it('add_feature_consumption answers the feature state with plural max_consumptions and the SDK fields (license_id, company, floating flags)', async () => {
    const { license, ids } = await licenseFor(t, { features: [{ code: 'api-calls', max: 20, allowNegative: true }, { code: 'export' }] });
    const feature = license.features.find((f) => f.code === 'api-calls')!;
    const res = await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 7 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: feature.id,
      code: 'api-calls',
      name: 'API calls',
      max_consumptions: 20,
      total_consumptions: 7,
      allow_unlimited_consumptions: false,
      allow_negative_consumptions: true,
      allow_overages: false,
      max_overages: 0,
      reset_consumption: false,
      consumption_period: null,
      license_id: license.id,
      company: { id: t.account.id },
      is_floating: false,
      is_floating_cloud: false,
    });
    expect((await ledger(license.id)).map((e) => [e.scope, e.featureCode, e.amount])).toEqual([['feature', 'api-calls', 7]]);
  });

  it('add_feature_consumption of a floating cloud feature also answers floating_timeout and floating_users (floating features only)', async () => {
    const { license, ids } = await licenseFor(t, { features: [{ code: 'api-calls', max: 20, isFloatingCloud: true, floatingUsers: 3, floatingTimeout: 45 }] });
    const res = await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 2 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ license_id: license.id, total_consumptions: 2, is_floating: false, is_floating_cloud: true, floating_timeout: 45, floating_users: 3 });
  });

  it('answers each seed error code and changes nothing', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 5 }, features: [{ code: 'api-calls', max: 2 }, { code: 'export' }] });
    expectError(await client.post('add_consumption', { ...ids, product: 'unknown' }), 'unknown_product');
    expectError(await client.post('add_feature_consumption', { ...ids, product: 'unknown', feature: 'api-calls' }), 'unknown_product');
    expectError(await client.post('add_consumption', { ...ids, license_key: 'NOPE' }), 'license_not_found');
    expectError(await client.post('add_consumption', { ...ids, license_id: 1 }), 'license_not_found');
    expectError(await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', license_id: '1' }), 'license_not_found');
    expectError(await client.post('add_consumption', { ...ids, hardware_id: 'not-activated' }), 'device_not_found');
    expectError(await client.post('add_feature_consumption', { ...ids, hardware_id: 'not-activated', feature: 'api-calls' }), 'device_not_found');
    expectError(await client.post('add_feature_consumption', { ...ids, feature: 'nope' }), 'unsupported_product_feature');
    expectError(await client.post('add_feature_consumption', { ...ids, feature: 'export' }), 'unsupported_product_feature');
    expectError(await client.post('add_consumption', { ...ids, consumptions: 6 }), 'license_not_enough_consumptions');
    expectError(await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 3 }), 'feature_not_enough_consumptions');
    expectError(await client.post('add_consumption', { ...ids, consumptions: -1 }), 'negative_consumptions_not_allowed');
    expectError(await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: -1 }), 'negative_consumptions_not_allowed');

    const perpetual = await licenseFor(t, { type: 'perpetual' });
    expectError(await client.post('add_consumption', perpetual.ids), 'license_not_consumption');

    // Never activated on any device: license_not_active (on every endpoint that names a device).
    const neverActivated = await licenseFor(t, { features: [{ code: 'api-calls', max: 2 }] }, []);
    expectError(await client.post('add_consumption', neverActivated.ids), 'license_not_active');
    expectError(await client.post('add_feature_consumption', { ...neverActivated.ids, feature: 'api-calls' }), 'license_not_active');
    expectError(await client.get('check_license', neverActivated.ids), 'license_not_active');
    expectError(await client.post('deactivate_license', neverActivated.ids), 'license_not_active');
    expect((await t.services.licenses.getLicense(t.account.id, neverActivated.license.id)).consumption.total).toBe(0);

    const blacklisted = await licenseFor(t);
    const [seat] = await t.services.devices.listActivations(t.account.id, { licenseId: blacklisted.license.id }, 0, 10);
    await t.services.devices.setBlacklisted(t.account.id, seat!.device.id, true);
    expectError(await client.post('add_consumption', blacklisted.ids), 'blacklisted');

    const { License } = t.server.db.models;
    const disabled = await licenseFor(t);
    await License.updateOne({ _id: disabled.license.id }, { $set: { enabled: false } });
    expectError(await client.post('add_consumption', disabled.ids), 'license_not_enabled');
    expectError(await client.post('add_feature_consumption', { ...disabled.ids, feature: 'api-calls' }), 'license_not_enabled');
    expectError(await client.get('check_license', disabled.ids), 'license_not_enabled');
    const expired = await licenseFor(t, { validUntil: new Date(Date.now() + 60_000) });
    await License.updateOne({ _id: expired.license.id }, { $set: { validUntil: new Date(Date.now() - 1000) } });
    expectError(await client.post('add_consumption', expired.ids), 'license_expired');
    expectError(await client.get('check_license', expired.ids), 'license_expired');

    const after = await stored(license.id);
    expect(after.consumption.total).toBe(0);
    expect(after.features.find((f) => f.code === 'api-calls')!.total).toBe(0);
    expect(await ledger(license.id)).toHaveLength(0);
  });

  it('rejects invalid bodies with validation_error: both events, empty events, unknown fields, fractions', async () => {
    const { license, ids } = await licenseFor(t);
    const both = await client.post('add_consumption', { ...ids, event: ['consumption_add', 'offline_floating_consumptions_sync'] });
    expect(both.body).toEqual({ status: 400, code: 'validation_error', message: '/body/event must NOT be valid' });
    expect(both.status).toBe(400);
    const bothFeature = await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', event: ['offline_floating_consumptions_sync', 'consumption_add'] });
    expect(bothFeature.body).toEqual({ status: 400, code: 'validation_error', message: '/body/event must NOT be valid' });
    // Schema errors of other fields still come first, as they did.
    expect((await client.post('add_consumption', { ...ids, consumptions: 1.5, event: ['consumption_add', 'offline_floating_consumptions_sync'] })).body.message).toBe('/body/consumptions must be integer');
    // The same with an Idempotency-Key: refused before anything is recorded, and a retry is refused again.
    const keyed = { headers: { 'Idempotency-Key': 'both-events-1' } };
    expectError(await client.post('add_consumption', { ...ids, event: ['consumption_add', 'offline_floating_consumptions_sync'] }, keyed), 'validation_error');
    expectError(await client.post('add_consumption', { ...ids, event: ['consumption_add', 'offline_floating_consumptions_sync'] }, keyed), 'validation_error');
    expect(await ledger(license.id)).toHaveLength(0);
    expectError(await client.post('add_consumption', { ...ids, event: [] }), 'validation_error');
    expectError(await client.post('add_consumption', { ...ids, event: ['consumption_subtract'] }), 'validation_error');
    expectError(await client.post('add_consumption', { ...ids, surprise: true }), 'validation_error');
    expectError(await client.post('add_consumption', { ...ids, consumptions: 1.5 }), 'validation_error');
    expectError(await client.post('add_consumption', { ...ids, max_overages: -1 }), 'validation_error');
    expect((await stored(license.id)).consumption.total).toBe(0);
  });

  it('offline_floating_consumptions_sync is accepted and recorded as such', async () => {
    const { license, ids } = await licenseFor(t);
    expect((await client.post('add_consumption', { ...ids, consumptions: 2, event: ['offline_floating_consumptions_sync'] })).status).toBe(200);
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', event: ['offline_floating_consumptions_sync', 'offline_floating_consumptions_sync'] })).status).toBe(200);
    expect((await ledger(license.id)).map((e) => [e.scope, e.amount, e.event])).toEqual([
      ['license', 2, 'offline_floating_consumptions_sync'],
      ['feature', 1, 'offline_floating_consumptions_sync'],
    ]);
  });

  it('overages: up to max + max_overages with allow_overages, never beyond; none without', async () => {
    const withHeadroom = await licenseFor(t, { consumption: { max: 10, allowOverages: true, maxOverages: 5 } });
    expect((await client.post('add_consumption', { ...withHeadroom.ids, consumptions: 10 })).body.total_consumptions).toBe(10);
    expect((await client.post('add_consumption', { ...withHeadroom.ids, consumptions: 5 })).body.total_consumptions).toBe(15);
    expectError(await client.post('add_consumption', { ...withHeadroom.ids, consumptions: 1 }), 'license_not_enough_consumptions');
    expect((await stored(withHeadroom.license.id)).consumption.total).toBe(15);

    const without = await licenseFor(t, { consumption: { max: 10 }, features: [{ code: 'api-calls', max: 3 }] });
    expect((await client.post('add_consumption', { ...without.ids, consumptions: 10 })).status).toBe(200);
    expectError(await client.post('add_consumption', without.ids), 'license_not_enough_consumptions');
    expectError(await client.post('add_consumption', { ...without.ids, allow_overages: true, max_overages: 100 }), 'license_not_enough_consumptions');
    expect((await client.post('add_feature_consumption', { ...without.ids, feature: 'api-calls', consumptions: 3 })).status).toBe(200);
    expectError(await client.post('add_feature_consumption', { ...without.ids, feature: 'api-calls' }), 'feature_not_enough_consumptions');

    const featureOverages = await licenseFor(t, { features: [{ code: 'api-calls', max: 3, allowOverages: true, maxOverages: 2 }] });
    expect((await client.post('add_feature_consumption', { ...featureOverages.ids, feature: 'api-calls', consumptions: 5 })).body.total_consumptions).toBe(5);
    expectError(await client.post('add_feature_consumption', { ...featureOverages.ids, feature: 'api-calls' }), 'feature_not_enough_consumptions');
  });

  it('accepts the documented compatibility forms besides the spec type: license_id as digits, allow_overages as 0/1', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 2 }, features: [{ code: 'api-calls', max: 5 }] });
    const asDigits = await client.post('add_consumption', { ...ids, license_id: String(license.id), allow_overages: 1 });
    expect(asDigits.status).toBe(200);
    expect(asDigits.body).toMatchObject({ id: license.id, total_consumptions: 1 });
    expect((await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', license_id: String(license.id) })).body).toMatchObject({ total_consumptions: 1 });
    expectError(await client.post('add_consumption', { ...ids, consumptions: 2, allow_overages: 0 }), 'license_not_enough_consumptions');
    // Only those forms: any other value of another type is still refused.
    expectError(await client.post('add_consumption', { ...ids, license_id: '12a' }), 'validation_error');
    expectError(await client.post('add_consumption', { ...ids, allow_overages: 2 }), 'validation_error');
    expectError(await client.post('add_consumption', { ...ids, allow_overages: 'true' }), 'validation_error');
    expect((await stored(license.id)).consumption.total).toBe(1);
  });

  it('allow_overages with max_overages 0 means unlimited overages; a request can only tighten it', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10, allowOverages: true, maxOverages: 0 } });
    expect((await client.post('add_consumption', { ...ids, consumptions: 1000 })).body.total_consumptions).toBe(1000);
    expectError(await client.post('add_consumption', { ...ids, allow_overages: false }), 'license_not_enough_consumptions');
    expectError(await client.post('add_consumption', { ...ids, allow_overages: 0 }), 'license_not_enough_consumptions');
    expectError(await client.post('add_consumption', { ...ids, max_overages: 3 }), 'license_not_enough_consumptions');
    expect((await client.post('add_consumption', { ...ids, max_overages: 0, allow_overages: true })).body.total_consumptions).toBe(1001);

    const capped = await licenseFor(t, { consumption: { max: 10, allowOverages: true, maxOverages: 0 } });
    expect((await client.post('add_consumption', { ...capped.ids, consumptions: 12, max_overages: 3 })).body.total_consumptions).toBe(12);
    expectError(await client.post('add_consumption', { ...capped.ids, consumptions: 2, max_overages: 3 }), 'license_not_enough_consumptions');
    expect((await client.post('add_consumption', { ...capped.ids, consumptions: 1, max_overages: 3 })).body.total_consumptions).toBe(13);
    expect((await stored(license.id)).consumption.total).toBe(1001);

    const unlimited = await licenseFor(t, { consumption: { max: 0, unlimited: true } });
    expect((await client.post('add_consumption', { ...unlimited.ids, consumptions: 50000, allow_overages: false })).body).toMatchObject({ total_consumptions: 50000, allow_unlimited_consumptions: true });
  });

  it('negative consumptions: refused unless allowed, and never below 0', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10, allowNegative: true } });
    expect((await client.post('add_consumption', { ...ids, consumptions: 4 })).body.total_consumptions).toBe(4);
    expect((await client.post('add_consumption', { ...ids, consumptions: -3 })).body.total_consumptions).toBe(1);
    const below = await client.post('add_consumption', { ...ids, consumptions: -2 });
    expectError(below, 'negative_consumptions_not_allowed');
    expect(below.body.message).toMatch(/below 0/);
    expect((await client.post('add_consumption', { ...ids, consumptions: -1 })).body.total_consumptions).toBe(0);
    expect((await stored(license.id)).consumption.total).toBe(0);
    expect((await ledger(license.id)).map((e) => e.amount)).toEqual([4, -3, -1]);
  });

  it('Idempotency-Key: a retry answers the original response without counting; another body is 409', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10 } });
    const headers = { 'Idempotency-Key': 'retry-me-1' };
    const first = await client.post('add_consumption', { ...ids, consumptions: 2 }, { headers });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    await client.post('add_consumption', { ...ids, consumptions: 1 });
    const retry = await client.post('add_consumption', { consumptions: 2, ...ids }, { headers });
    expect(retry.status).toBe(200);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('licensesignature')).toBe(first.headers.get('licensesignature'));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expectError(await client.post('add_consumption', { ...ids, consumptions: 3 }, { headers }), 'idempotency_key_reused', 409);
    expectError(await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 2 }, { headers }), 'idempotency_key_reused', 409);
    expect((await stored(license.id)).consumption.total).toBe(3);
    const entries = await ledger(license.id);
    expect(entries.map((e) => [e.amount, e.idempotencyKey])).toEqual([
      [2, 'retry-me-1'],
      [1, null],
    ]);

    // A rejected request stores nothing: the same key runs again (and is rejected again) rather than replaying.
    const tooMany = { 'Idempotency-Key': 'too-many' };
    expectError(await client.post('add_consumption', { ...ids, consumptions: 50 }, { headers: tooMany }), 'license_not_enough_consumptions');
    expectError(await client.post('add_consumption', { ...ids, consumptions: 50 }, { headers: tooMany }), 'license_not_enough_consumptions');
    expect((await client.post('add_consumption', { ...ids, consumptions: 1 }, { headers: tooMany })).body.total_consumptions).toBe(4);

    // A key must be printable ASCII without spaces.
    expectError(await client.post('add_consumption', ids, { headers: { 'Idempotency-Key': 'bad key with spaces' } }), 'validation_error');
  });
});
