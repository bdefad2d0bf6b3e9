import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../server/domain/errors.js';
import { startTestServer, type TestServer } from '../support/server.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('Management API v1', () => {
  let t: TestServer;
  let keyA: string;
  let keyB: string;
  const MISSING_ID = 1234567890123456;

  beforeAll(async () => {
    t = await startTestServer();
    keyA = t.credentials.managementApiKey;
    keyB = (await t.createAccount('tenant-b')).credentials.managementApiKey;
  });
  afterAll(async () => t?.stop());

  async function api(method: string, path: string, body?: unknown, key: string | null = keyA): Promise<{ status: number; body: Json }> {
    const headers: Record<string, string> = {};
    if (key !== null) headers.authorization = `Api-Key ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: await res.json() };
  }

  function expectError(res: { status: number; body: Json }, status: number, code: string) {
    expect(res.body).toMatchObject({ status, code });
    expect(typeof res.body.message).toBe('string');
    expect(res.status).toBe(status);
  }

  let seq = 0;
  /** A product with features f1 (activation), f2 and f5 (consumption). */
  async function product(key = keyA) {
    seq += 1;
    const p = (await api('POST', '/api/v1/products/', { product_name: `Product ${seq}`, short_code: `p${seq}` }, key)).body;
    for (const [code, type, max] of [['f1', 'activation', 0], ['f2', 'consumption', 20], ['f5', 'consumption', 7]] as const) {
      const res = await api('POST', '/api/v1/product-features/', { product: p.id, name: `feature ${code}`, code, feature_type: type, max_consumption: max }, key);
      expect(res.status).toBe(201);
    }
    return p as { id: number; short_code: string };
  }

  async function license(productId: number, extra: object = {}, key = keyA) {
    const res = await api('POST', '/api/v1/licenses/', { product: productId, license_type: 'consumption', max_activations: 3, ...extra }, key);
    expect(res.status).toBe(201);
    return res.body as Json;
  }

  const accountA = () => t.account.id;
  const consume = (licenseId: number, code: string, amount = 1) =>
    t.services.consumption.consume({ accountId: accountA(), license: { licenseId }, target: { scope: 'feature', code }, amount, negatives: 'policy', event: 'consumption_add' });

  describe('authentication', () => {
    it('answers 401 authentication_required without an Authorization header', async () => {
      expectError(await api('GET', '/api/v1/products/', undefined, null), 401, 'authentication_required');
    });

    it('answers 401 invalid_authorization_header for another scheme', async () => {
      const res = await fetch(`${t.baseUrl}/api/v1/products/`, { headers: { authorization: `Bearer ${keyA}` } });
      expectError({ status: res.status, body: await res.json() }, 401, 'invalid_authorization_header');
    });

    it('answers 401 invalid_api_key for an unknown key', async () => {
      expectError(await api('GET', '/api/v1/products/', undefined, 'mgmt_not-a-real-key'), 401, 'invalid_api_key');
    });

    it('answers the account with its public key', async () => {
      const res = await api('GET', '/api/v1/account/');
      expect(res.status).toBe(200);
      const key = await t.services.accounts.signingKey(t.account.id);
      expect(res.body).toEqual({ id: t.account.id, name: t.account.name, public_key: key.publicKeyPem, public_key_id: key.kid });
      expect(res.body.public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    });
  });

  describe('products', () => {
    it('creates, reads, renames and refuses to change the short code', async () => {
      const created = await api('POST', '/api/v1/products/', { product_name: 'Editor', short_code: 'editor' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ product_name: 'Editor', short_code: 'editor' });
      const id = created.body.id;
      expect((await api('GET', `/api/v1/products/${id}/`)).body).toEqual(created.body);
      const renamed = await api('PATCH', `/api/v1/products/${id}/`, { product_name: 'Editor Pro', short_code: 'editor' });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ id, product_name: 'Editor Pro', short_code: 'editor' });
      expectError(await api('PATCH', `/api/v1/products/${id}/`, { short_code: 'other' }), 400, 'short_code_immutable');
      expect((await api('GET', `/api/v1/products/${id}/`)).body).toMatchObject({ product_name: 'Editor Pro', short_code: 'editor' });
    });

    it('rejects a taken short code (409), a bad body (400) and unknown ids (404)', async () => {
      await api('POST', '/api/v1/products/', { product_name: 'Dup', short_code: 'dup' });
      expectError(await api('POST', '/api/v1/products/', { product_name: 'Dup 2', short_code: 'dup' }), 409, 'short_code_taken');
      expectError(await api('POST', '/api/v1/products/', { product_name: 'No code' }), 400, 'validation_failed');
      expectError(await api('POST', '/api/v1/products/', { product_name: 'Bad', short_code: 'has space' }), 400, 'validation_failed');
      expectError(await api('GET', `/api/v1/products/${MISSING_ID}/`), 404, 'product_not_found');
      expectError(await api('PATCH', `/api/v1/products/${MISSING_ID}/`, { product_name: 'x' }), 404, 'product_not_found');
    });

    it('paginates with count, next and previous URLs', async () => {
      const { account, credentials } = await t.createAccount('paging');
      const key = credentials.managementApiKey;
      for (const code of ['a', 'b', 'c']) await api('POST', '/api/v1/products/', { product_name: code, short_code: code }, key);
      const first = await api('GET', '/api/v1/products/?page_size=2', undefined, key);
      expect(first.status).toBe(200);
      expect(first.body.count).toBe(3);
      expect(first.body.results.map((p: Json) => p.short_code)).toEqual(['a', 'b']);
      expect(first.body.previous).toBeNull();
      const next = new URL(first.body.next);
      expect(next.pathname).toBe('/api/v1/products/');
      expect(Object.fromEntries(next.searchParams)).toEqual({ page_size: '2', page: '2' });
      const second = await api('GET', `${next.pathname}${next.search}`, undefined, key);
      expect(second.body.results.map((p: Json) => p.short_code)).toEqual(['c']);
      expect(second.body.next).toBeNull();
      expect(new URL(second.body.previous).searchParams.get('page')).toBe('1');
      expect((await api('GET', '/api/v1/products/?page=9', undefined, key)).body).toMatchObject({ count: 3, results: [] });
      expectError(await api('GET', '/api/v1/products/?page_size=101', undefined, key), 400, 'validation_failed');
      expect(account.id).not.toBe(t.account.id);
    });
  });

  describe('product features', () => {
    it('creates features (annualy accepted as annually) and lists them by product', async () => {
      const p = (await api('POST', '/api/v1/products/', { product_name: 'Meters', short_code: 'meters' })).body;
      const created = await api('POST', '/api/v1/product-features/', {
        product: p.id,
        name: 'Calls',
        code: 'calls',
        feature_type: 'consumption',
        max_consumption: 100,
        allow_overages: true,
        max_overages: 10,
        reset_consumption: true,
        consumption_period: 'annualy',
        metadata: { unit: 'call' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ product: p.id, code: 'calls', feature_type: 'consumption', max_consumption: 100, consumption_period: 'annually', is_deleted: false, metadata: { unit: 'call' } });
      const list = await api('GET', `/api/v1/product-features/?product=${p.id}`);
      expect(list.body).toMatchObject({ count: 1, next: null, previous: null });
      expect(list.body.results[0]).toEqual(created.body);
    });

    it('rejects a taken code (409), an unknown product (400), a bad period and a reset without period (400)', async () => {
      const p = await product();
      expectError(await api('POST', '/api/v1/product-features/', { product: p.id, name: 'again', code: 'f1', feature_type: 'activation' }), 409, 'feature_code_taken');
      expectError(await api('POST', '/api/v1/product-features/', { product: MISSING_ID, name: 'x', code: 'x', feature_type: 'activation' }), 400, 'invalid_product');
      expectError(await api('POST', '/api/v1/product-features/', { product: p.id, name: 'x', code: 'x', feature_type: 'consumption', consumption_period: 'hourly' }), 400, 'validation_failed');
      expectError(await api('POST', '/api/v1/product-features/', { product: p.id, name: 'x', code: 'x', feature_type: 'consumption', reset_consumption: true }), 400, 'validation_failed');
      expect((await api('GET', `/api/v1/product-features/?product=${p.id}`)).body.count).toBe(3);
    });
  });

  describe('licenses', () => {
    it('answers 503 (not a license whose product looks deleted) when reading the product fails', async () => {
      const p = await product();
      const created = await license(p.id);
      const spy = vi.spyOn(t.services.products, 'getProduct').mockRejectedValueOnce(Object.assign(new Error('connection closed'), { name: 'MongoNetworkError' }));
      try {
        const res = await api('GET', `/api/v1/licenses/${created.id}/`);
        expectError(res, 503, 'service_unavailable');
      } finally {
        spy.mockRestore();
      }
      const again = await api('GET', `/api/v1/licenses/${created.id}/`);
      expect(again.status).toBe(200);
      expect(again.body.product_features.every((f: { is_deleted?: boolean }) => f.is_deleted !== true)).toBe(true);
    });

    it('creates a license with a generated key and every product feature, answering the full license object', async () => {
      const p = await product();
      const created = await license(p.id, { max_consumptions: 50, validity_period: '2030-09-30', is_trial: true, metadata: { plan: 'pro' } });
      expect(created).toMatchObject({
        status: 'inactive',
        active: false,
        enabled: true,
        customer: null,
        license_users: [],
        product: { id: p.id, product_name: expect.any(String) },
        license_type: 'consumption',
        max_activations: 3,
        times_activated: 0,
        validity_period: '2030-09-30',
        is_trial: true,
        max_consumptions: 50,
        total_consumptions: 0,
        metadata: { plan: 'pro' },
      });
      expect(created.license_key).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);
      expect(created.product_features.map((f: Json) => f.product_feature.code)).toEqual(['f1', 'f2', 'f5']);
      expect(created.product_features[1]).toMatchObject({ max_consumption: 20, total_consumptions: 0, product_feature: { code: 'f2', feature_type: 'consumption', max_consumption: 20 } });
      const read = await api('GET', `/api/v1/licenses/${created.id}/`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created);
      const stored = await t.services.licenses.getLicense(t.account.id, created.id);
      expect(stored.validUntil).toEqual(new Date('2030-09-30T23:59:59.999Z'));
    });

    it('create fields are not nullable in the spec: left out they take their defaults, null is still accepted as left out; on PATCH null clears', async () => {
      const p = await product();
      const omitted = await license(p.id);
      expect(omitted).toMatchObject({ validity_period: null, floating_timeout: null, consumption_period: null });
      const withNulls = await license(p.id, { validity_period: null, floating_timeout: null, consumption_period: null });
      expect(withNulls).toMatchObject({ validity_period: null, floating_timeout: null, consumption_period: null });
      const set = await license(p.id, { validity_period: '2030-12-31', floating_timeout: 30, consumption_period: 'monthly', reset_consumption: true });
      expect(set).toMatchObject({ validity_period: '2030-12-31', floating_timeout: 30, consumption_period: 'monthly' });
      const cleared = await api('PATCH', `/api/v1/licenses/${set.id}/`, { validity_period: null, floating_timeout: null, reset_consumption: false, consumption_period: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ validity_period: null, floating_timeout: null, consumption_period: null });
      const feature = await api('POST', '/api/v1/product-features/', { product: p.id, name: 'nullable period', code: 'np', feature_type: 'consumption', consumption_period: null });
      expect(feature.status).toBe(201);
      expect(feature.body.consumption_period).toBeNull();
      // Only null is the compatibility form: other values of another type are still refused.
      expectError(await api('POST', '/api/v1/licenses/', { product: p.id, license_type: 'perpetual', max_activations: 1, floating_timeout: '30' }), 400, 'validation_failed');
    });

    it('creates a license with a given key and listed features; rejects a taken key, an unknown product, unknown and duplicate codes', async () => {
      const p = await product();
      const created = await license(p.id, { license_key: 'MY-KEY-0001', product_features: [{ product_feature: 'f2', max_consumption: 88, consumption_period: 'annualy', reset_consumption: true }] });
      expect(created.license_key).toBe('MY-KEY-0001');
      expect(created.product_features).toHaveLength(1);
      expect(created.product_features[0]).toMatchObject({ max_consumption: 88, reset_consumption: true, consumption_period: 'annually' });
      const body = { product: p.id, license_type: 'perpetual', max_activations: 1 };
      expectError(await api('POST', '/api/v1/licenses/', { ...body, license_key: 'MY-KEY-0001' }), 409, 'license_key_taken');
      expectError(await api('POST', '/api/v1/licenses/', { ...body, product: MISSING_ID }), 400, 'invalid_product');
      expectError(await api('POST', '/api/v1/licenses/', { ...body, product_features: [{ product_feature: 'nope' }] }), 400, 'unknown_product_feature');
      expectError(await api('POST', '/api/v1/licenses/', { ...body, product_features: [{ product_feature: 'f2' }, { product_feature: 'f2' }] }), 400, 'duplicate_product_feature');
      expectError(await api('POST', '/api/v1/licenses/', { ...body, license_type: 'forever' }), 400, 'validation_failed');
      expectError(await api('POST', '/api/v1/licenses/', { product: p.id, license_type: 'perpetual' }), 400, 'validation_failed');
      expect((await api('GET', `/api/v1/licenses/?product=${p.id}`)).body.count).toBe(1);
    });

    it('lists licenses filtered by product, license_key and enabled', async () => {
      const p = await product();
      const a = await license(p.id, { license_key: 'FILTER-A' });
      const b = await license(p.id, { license_key: 'FILTER-B', enabled: false });
      const ids = async (query: string) => (await api('GET', `/api/v1/licenses/?${query}`)).body.results.map((l: Json) => l.id);
      expect(await ids(`product=${p.id}`)).toEqual([a.id, b.id]);
      expect(await ids(`product=${p.id}&enabled=false`)).toEqual([b.id]);
      expect(await ids(`product=${p.id}&enabled=true`)).toEqual([a.id]);
      expect(await ids('license_key=FILTER-B')).toEqual([b.id]);
      expect(await ids(`product=${MISSING_ID}`)).toEqual([]);
      const page = await api('GET', `/api/v1/licenses/?product=${p.id}&page_size=1`);
      expect(page.body.count).toBe(2);
      expect(new URL(page.body.next).searchParams.get('product')).toBe(String(p.id));
      expectError(await api('GET', '/api/v1/licenses/?enabled=maybe'), 400, 'validation_failed');
    });

    it('updates settings with PATCH without touching counters, and rejects bad settings', async () => {
      const p = await product();
      const l = await license(p.id, { max_consumptions: 10 });
      await t.services.consumption.consume({ accountId: accountA(), license: { licenseId: l.id }, target: { scope: 'license' }, amount: 4, negatives: 'policy', event: 'consumption_add' });
      const res = await api('PATCH', `/api/v1/licenses/${l.id}/`, { max_activations: 9, validity_period: '2031-06-30', max_consumptions: 20, allow_overages: true, max_overages: 5, license_type: 'subscription', prevent_vm: true });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ max_activations: 9, validity_period: '2031-06-30', max_consumptions: 20, total_consumptions: 4, allow_overages: true, max_overages: 5, license_type: 'subscription', prevent_vm: true });
      expectError(await api('PATCH', `/api/v1/licenses/${l.id}/`, { reset_consumption: true }), 400, 'validation_failed');
      expectError(await api('PATCH', `/api/v1/licenses/${l.id}/`, { total_consumptions: 0 }), 400, 'validation_failed');
      expectError(await api('PATCH', `/api/v1/licenses/${MISSING_ID}/`, { max_activations: 1 }), 404, 'license_not_found');
      expect((await api('GET', `/api/v1/licenses/${l.id}/`)).body).toMatchObject({ reset_consumption: false, total_consumptions: 4 });
    });

    it('disables and enables a license', async () => {
      const p = await product();
      const l = await license(p.id);
      const disabled = await api('POST', `/api/v1/licenses/${l.id}/disable/`);
      expect(disabled.status).toBe(200);
      expect(disabled.body).toMatchObject({ enabled: false, status: 'disabled' });
      expect(disabled.body.time_disabled).not.toBeNull();
      expect(await consume(l.id, 'f2').catch((e: DomainError) => e.code)).toBe('license_disabled');
      const enabled = await api('POST', `/api/v1/licenses/${l.id}/enable/`);
      expect(enabled.body).toMatchObject({ enabled: true, status: 'inactive' });
      expect((await consume(l.id, 'f2')).meter.total).toBe(1);
      expectError(await api('POST', `/api/v1/licenses/${MISSING_ID}/disable/`), 404, 'license_not_found');
      expectError(await api('POST', `/api/v1/licenses/${MISSING_ID}/enable/`), 404, 'license_not_found');
    });

    it('resets license-level and feature consumption to 0 with ledger entries', async () => {
      const p = await product();
      const l = await license(p.id, { max_consumptions: 10 });
      await consume(l.id, 'f2', 6);
      await consume(l.id, 'f5', 2);
      await t.services.consumption.consume({ accountId: accountA(), license: { licenseId: l.id }, target: { scope: 'license' }, amount: 3, negatives: 'policy', event: 'consumption_add' });
      const res = await api('POST', `/api/v1/licenses/${l.id}/reset_consumption/`);
      expect(res.status).toBe(200);
      expect(res.body.total_consumptions).toBe(0);
      expect(res.body.product_features.map((f: Json) => f.total_consumptions)).toEqual([0, 0, 0]);
      const resets = (await t.services.ledger.entriesFor(accountA(), l.id)).filter((e) => e.event === 'reset');
      const byCode = Object.fromEntries(resets.map((e) => [e.featureCode ?? 'license', [e.scope, e.amount, e.totalAfter]]));
      expect(byCode).toEqual({ f2: ['feature', -6, 0], f5: ['feature', -2, 0], license: ['license', -3, 0] });
      expect(resets).toHaveLength(3);
      expectError(await api('POST', `/api/v1/licenses/${MISSING_ID}/reset_consumption/`), 404, 'license_not_found');
    });
  });

  describe('update_features', () => {
    it('creates, updates and deletes features in one call, answering the seed\'s license object', async () => {
      const p = await product();
      const l = await license(p.id, { product_features: [{ product_feature: 'f1' }, { product_feature: 'f2' }] });
      await consume(l.id, 'f2', 5);
      const res = await api('POST', `/api/v1/licenses/${l.id}/update_features/`, {
        product_features: [{ product_feature: 'f5' }, { product_feature: 'f2', max_consumption: 88, allow_overages: true, max_overages: 99, expiry_date: '2030-09-30', metadata: { $note: '$kept as data' } }],
      });
      expect(res.status).toBe(200);
      const features = res.body.product_features;
      expect(features.map((f: Json) => f.product_feature.code)).toEqual(['f5', 'f2']);
      expect(features[0]).toMatchObject({ max_consumption: 7, total_consumptions: 0, expiry_date: null, product_feature: { code: 'f5', name: 'feature f5', is_deleted: false, feature_type: 'consumption', max_consumption: 7 } });
      expect(features[1]).toMatchObject({ id: l.product_features[1].id, max_consumption: 88, total_consumptions: 5, allow_overages: true, max_overages: 99, expiry_date: '2030-09-30', metadata: { $note: '$kept as data' } });
      expect(res.body).toMatchObject({ id: l.id, product: { id: p.id }, customer: null, license_users: [] });
      expect((await api('GET', `/api/v1/licenses/${l.id}/`)).body).toEqual(res.body);
      expect(await consume(l.id, 'f1').catch((e: DomainError) => e.code)).toBe('feature_not_on_license');
    });

    it('sets total_consumptions when given and accepts the seed\'s "annualy"', async () => {
      const p = await product();
      const l = await license(p.id);
      await consume(l.id, 'f2', 9);
      const res = await api('POST', `/api/v1/licenses/${l.id}/update_features/`, {
        product_features: [{ product_feature: 'f2', max_consumption: 88, total_consumptions: 0, reset_consumption: true, consumption_period: 'annualy' }],
      });
      expect(res.status).toBe(200);
      expect(res.body.product_features).toHaveLength(1);
      expect(res.body.product_features[0]).toMatchObject({ max_consumption: 88, total_consumptions: 0, reset_consumption: true, consumption_period: 'annually' });
      const updates = (await t.services.ledger.entriesFor(accountA(), l.id)).filter((e) => e.event === 'update');
      expect(updates.map((e) => [e.featureCode, e.amount, e.totalAfter])).toEqual([['f2', -9, 0]]);
    });

    it('rejects a bad period, an unknown code and a duplicate code with 400, changing nothing', async () => {
      const p = await product();
      const l = await license(p.id);
      const before = (await api('GET', `/api/v1/licenses/${l.id}/`)).body;
      const post = (body: unknown) => api('POST', `/api/v1/licenses/${l.id}/update_features/`, body);
      expectError(await post({ product_features: [{ product_feature: 'f2', consumption_period: 'hourly' }] }), 400, 'validation_failed');
      expectError(await post({ product_features: [{ product_feature: 'f2' }, { product_feature: 'f9' }] }), 400, 'unknown_product_feature');
      expectError(await post({ product_features: [{ product_feature: 'f2' }, { product_feature: 'f2' }] }), 400, 'duplicate_product_feature');
      expectError(await post({ product_features: [{ product_feature: 'f2', expiry_date: '30/09/2020' }] }), 400, 'validation_failed');
      expectError(await post({ product_features: [{ product_feature: 'f2', reset_consumption: true }] }), 400, 'validation_failed');
      expectError(await post({ product_features: [{ product_feature: 'f2', max_consumption: -1 }] }), 400, 'validation_failed');
      expectError(await post({ features: [] }), 400, 'validation_failed');
      expect((await api('GET', `/api/v1/licenses/${l.id}/`)).body).toEqual(before);
      expectError(await api('POST', `/api/v1/licenses/${MISSING_ID}/update_features/`, { product_features: [] }), 404, 'license_not_found');
    });

    it('neither loses nor double counts 300 parallel consumptions on a kept feature while update_features runs 20 times', async () => {
      const p = await product();
      const l = await license(p.id, { product_features: [{ product_feature: 'f2', max_consumption: 1000 }, { product_feature: 'f5' }] });
      let accepted = 0;
      const consumeOne = () =>
        consume(l.id, 'f2').then(
          () => {
            accepted += 1;
          },
          (err: unknown) => {
            if (!(err instanceof DomainError && err.code === 'consumption_limit_reached')) throw err;
          },
        );
      // Each update_features call is sent while a fresh batch of 15 consumptions is in flight.
      const pending: Array<Promise<void>> = [];
      const statuses: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        for (let j = 0; j < 15; j += 1) pending.push(consumeOne());
        const res = await api('POST', `/api/v1/licenses/${l.id}/update_features/`, { product_features: [{ product_feature: 'f2', max_consumption: 1000 + i }, { product_feature: 'f1' }] });
        statuses.push(res.status);
      }
      await Promise.all(pending);
      expect(pending).toHaveLength(300);
      expect(statuses).toEqual(Array(20).fill(200));
      expect(accepted).toBe(300);
      const final = (await api('GET', `/api/v1/licenses/${l.id}/`)).body;
      expect(final.product_features.map((f: Json) => f.product_feature.code)).toEqual(['f2', 'f1']);
      expect(final.product_features[0]).toMatchObject({ max_consumption: 1019, total_consumptions: accepted });
      const stored = await t.services.licenses.getLicense(accountA(), l.id);
      expect(stored.features.find((f) => f.code === 'f2')).toMatchObject({ total: 300, gross: 300 });
      expect(stored.features.some((f) => f.code === 'f5')).toBe(false);
    });
  });

  describe('devices', () => {
    it('lists a license\'s devices and blacklists and unblacklists one', async () => {
      const p = await product();
      const l = await license(p.id);
      const { device } = await t.services.devices.activate(accountA(), { license: { licenseId: l.id }, hardwareId: 'hw-1', details: { os: 'linux', hostname: 'build-01' } });
      const list = await api('GET', `/api/v1/devices/?license=${l.id}`);
      expect(list.status).toBe(200);
      expect(list.body).toMatchObject({ count: 1, next: null, previous: null });
      expect(list.body.results[0]).toMatchObject({ id: device.id, license: l.id, product: p.id, hardware_id: 'hw-1', active: true, blacklisted: false, os: 'linux', hostname: 'build-01' });
      const licenseView = (await api('GET', `/api/v1/licenses/${l.id}/`)).body;
      expect(licenseView).toMatchObject({ status: 'active', active: true, times_activated: 1, total_active_devices: 1, last_activation_device: device.id });
      const blacklisted = await api('POST', `/api/v1/devices/${device.id}/blacklist/`);
      expect(blacklisted.status).toBe(200);
      expect(blacklisted.body).toMatchObject({ id: device.id, blacklisted: true });
      const seatUse = () =>
        t.services.consumption.consume({ accountId: accountA(), license: { licenseId: l.id }, target: { scope: 'feature', code: 'f2' }, seat: { hardwareId: 'hw-1' }, amount: 1, negatives: 'policy', event: 'consumption_add' });
      expect(await seatUse().catch((e: DomainError) => e.code)).toBe('device_blacklisted');
      const unblacklisted = await api('POST', `/api/v1/devices/${device.id}/unblacklist/`);
      expect(unblacklisted.body).toMatchObject({ id: device.id, blacklisted: false });
      expect((await seatUse()).meter.total).toBe(1);
      expect((await api('GET', `/api/v1/devices/?license=${MISSING_ID}`)).body).toMatchObject({ count: 0, results: [] });
      expectError(await api('POST', `/api/v1/devices/${MISSING_ID}/blacklist/`), 404, 'device_not_found');
      expectError(await api('POST', `/api/v1/devices/${MISSING_ID}/unblacklist/`), 404, 'device_not_found');
    });
  });

  describe('tenant isolation', () => {
    it('answers 404 to another account for every id of account A, and changes nothing', async () => {
      const p = await product();
      const l = await license(p.id);
      const { device } = await t.services.devices.activate(accountA(), { license: { licenseId: l.id }, hardwareId: 'hw-iso' });
      await consume(l.id, 'f2', 3);
      const before = (await api('GET', `/api/v1/licenses/${l.id}/`)).body;
      const asB = (method: string, path: string, body?: unknown) => api(method, path, body, keyB);
      expectError(await asB('GET', `/api/v1/licenses/${l.id}/`), 404, 'license_not_found');
      expectError(await asB('PATCH', `/api/v1/licenses/${l.id}/`, { max_activations: 100 }), 404, 'license_not_found');
      expectError(await asB('POST', `/api/v1/licenses/${l.id}/update_features/`, { product_features: [] }), 404, 'license_not_found');
      expectError(await asB('POST', `/api/v1/licenses/${l.id}/disable/`), 404, 'license_not_found');
      expectError(await asB('POST', `/api/v1/licenses/${l.id}/reset_consumption/`), 404, 'license_not_found');
      expectError(await asB('GET', `/api/v1/products/${p.id}/`), 404, 'product_not_found');
      expectError(await asB('PATCH', `/api/v1/products/${p.id}/`, { product_name: 'stolen' }), 404, 'product_not_found');
      expectError(await asB('POST', `/api/v1/devices/${device.id}/blacklist/`), 404, 'device_not_found');
      expectError(await asB('POST', '/api/v1/licenses/', { product: p.id, license_type: 'perpetual', max_activations: 1 }), 400, 'invalid_product');
      expectError(await asB('POST', '/api/v1/product-features/', { product: p.id, name: 'x', code: 'x', feature_type: 'activation' }), 400, 'invalid_product');
      expect((await asB('GET', `/api/v1/licenses/?product=${p.id}`)).body).toMatchObject({ count: 0, results: [] });
      expect((await asB('GET', `/api/v1/licenses/?license_key=${encodeURIComponent(l.license_key)}`)).body.count).toBe(0);
      expect((await asB('GET', `/api/v1/product-features/?product=${p.id}`)).body.count).toBe(0);
      expect((await asB('GET', `/api/v1/devices/?license=${l.id}`)).body.count).toBe(0);
      expect((await asB('GET', '/api/v1/products/')).body.results.some((x: Json) => x.id === p.id)).toBe(false);
      expect((await api('GET', `/api/v1/licenses/${l.id}/`)).body).toEqual(before);
      expect((await api('GET', `/api/v1/products/${p.id}/`)).body.product_name).not.toBe('stolen');
      expect((await t.services.devices.getDevice(accountA(), device.id)).blacklisted).toBe(false);
    });
  });
});
