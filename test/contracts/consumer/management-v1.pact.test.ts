/**
 * Consumer contract of the Management API v1 (`/api/v1/*`, `Authorization: Api-Key <key>`): the
 * real client against the Pact mock server, one success and at least one documented error
 * interaction per operation. Ids the database generates come from the provider state
 * (`fromProviderState`); the client is called with the example id.
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../../client/index.js';
import { fromState, isoDateTime, jsonResponseHeaders, licenseApiError, licenseKey, managementAuthHeaders, patterns } from '../support/matchers.js';
import { DEFAULT_PRODUCT, states } from '../support/provider-states.js';
import { clientFor, createPact, expectApiError } from './pact.js';

const { like, integer, boolean, eachLike, regex } = MatchersV3;

const KEY = 'ABCD-EFGH-JKLM-NPQR';
const FEATURE = 'api-calls';
const HARDWARE_ID = 'hw-pact-1';
/** Example ids the consumer calls with; verification substitutes the ids the provider state returned. */
const PRODUCT_ID = 1000000000000002;
const LICENSE_ID = 1000000000000001;
const DEVICE_ID = 1000000000000004;
/** An id no state ever generates (generated ids have 16 digits). */
const UNKNOWN_ID = 999999999;
/** A management key no account has: the provider's request filter leaves it alone. */
const wrongKey = { Authorization: 'Api-Key unknown-management-key' };

const v1Product = (name = 'Product pact-product') => ({
  id: integer(PRODUCT_ID),
  product_name: like(name),
  short_code: like(DEFAULT_PRODUCT),
  created_at: isoDateTime(),
  updated_at: isoDateTime(),
});

const v1ProductFeature = (code = FEATURE) => ({
  id: integer(1000000000000005),
  product: integer(PRODUCT_ID),
  name: like(code),
  code: like(code),
  is_deleted: boolean(false),
  feature_type: like('consumption'),
  max_consumption: integer(10),
  created_at: isoDateTime(),
  updated_at: isoDateTime(),
});

const v1LicenseFeature = (max = 10, total = 0) => ({
  id: integer(1000000000000003),
  product_feature: v1ProductFeature(),
  max_consumption: integer(max),
  total_consumptions: integer(total),
  expiry_date: null,
});

/** The license object every license endpoint answers, as far as the client relies on it. */
const v1License = (overrides: Record<string, unknown> = {}) => ({
  id: integer(LICENSE_ID),
  status: like('inactive'),
  license_key: licenseKey(KEY),
  enabled: boolean(true),
  active: boolean(false),
  license_type: like('perpetual'),
  max_activations: integer(5),
  times_activated: integer(0),
  max_consumptions: integer(0),
  total_consumptions: integer(0),
  validity_period: null,
  product: { id: integer(PRODUCT_ID), product_name: like('Product pact-product') },
  product_features: eachLike(v1LicenseFeature()),
  created_at: isoDateTime(),
  updated_at: isoDateTime(),
  ...overrides,
});

const v1Device = (blacklisted: boolean) => ({
  id: integer(DEVICE_ID),
  license: integer(LICENSE_ID),
  product: integer(PRODUCT_ID),
  hardware_id: like(HARDWARE_ID),
  active: boolean(true),
  blacklisted,
  created_at: isoDateTime(),
  updated_at: isoDateTime(),
});

/** One page of a list: the single seeded item, no further pages. */
const page = (item: Record<string, unknown>) => ({ count: integer(1), next: null, previous: null, results: eachLike(item) });

describe('Management API v1 (consumer)', () => {
  const pact = createPact();
  const product = states.product({ code: FEATURE, max: 10 });
  const license = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 10 });
  const device = states.licenseActivatedOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
  const account = states.account();

  describe('products', () => {
    it('createV1Product: 201 with the new product', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('createV1Product: a new short code')
        .withRequest('POST', '/api/v1/products/', (req) => req.headers(managementAuthHeaders()).jsonBody({ product_name: 'Editor', short_code: 'editor' }))
        .willRespondWith(201, (res) => res.headers(jsonResponseHeaders()).jsonBody({ ...v1Product('Editor'), short_code: 'editor' }))
        .executeTest(async (mock) => {
          const created = unwrap(await clientFor(mock.url).POST('/api/v1/products/', { body: { product_name: 'Editor', short_code: 'editor' } }));
          expect(created).toMatchObject({ product_name: 'Editor', short_code: 'editor' });
          expect(typeof created.id).toBe('number');
        });
    });

    it('createV1Product: 409 short_code_taken', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('createV1Product: a short code another product has')
        .withRequest('POST', '/api/v1/products/', (req) => req.headers(managementAuthHeaders()).jsonBody({ product_name: 'Again', short_code: DEFAULT_PRODUCT }))
        .willRespondWith(409, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(409, 'short_code_taken')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v1/products/', { body: { product_name: 'Again', short_code: DEFAULT_PRODUCT } })));
          expect(err).toMatchObject({ status: 409, code: 'short_code_taken', dialect: 'v1' });
        });
    });

    it('listV1Products: one page of products', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('listV1Products: the first page')
        .withRequest('GET', '/api/v1/products/', (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(page(v1Product())))
        .executeTest(async (mock) => {
          const list = unwrap(await clientFor(mock.url).GET('/api/v1/products/'));
          expect(list.count).toBe(1);
          expect(list.results[0]?.short_code).toBe(DEFAULT_PRODUCT);
        });
    });

    it('listV1Products: 401 invalid_api_key for an unknown key', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('listV1Products: an unknown management key')
        .withRequest('GET', '/api/v1/products/', (req) => req.headers(wrongKey))
        .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(401, 'invalid_api_key')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/products/', { headers: wrongKey })));
          expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
        });
    });

    it('getV1Product: the product', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('getV1Product: an existing product')
        .withRequest('GET', fromState('/api/v1/products/${productId}/', `/api/v1/products/${PRODUCT_ID}/`), (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v1Product()))
        .executeTest(async (mock) => {
          const found = unwrap(await clientFor(mock.url).GET('/api/v1/products/{id}/', { params: { path: { id: PRODUCT_ID } } }));
          expect(found.short_code).toBe(DEFAULT_PRODUCT);
        });
    });

    it('getV1Product: 404 product_not_found', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getV1Product: an unknown product id')
        .withRequest('GET', `/api/v1/products/${UNKNOWN_ID}/`, (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'product_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/products/{id}/', { params: { path: { id: UNKNOWN_ID } } })));
          expect(err).toMatchObject({ status: 404, code: 'product_not_found' });
        });
    });

    it('updateV1Product: renames the product', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('updateV1Product: a new product name')
        .withRequest('PATCH', fromState('/api/v1/products/${productId}/', `/api/v1/products/${PRODUCT_ID}/`), (req) =>
          req.headers(managementAuthHeaders()).jsonBody({ product_name: 'Renamed' }),
        )
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ ...v1Product(), product_name: 'Renamed' }))
        .executeTest(async (mock) => {
          const updated = unwrap(await clientFor(mock.url).PATCH('/api/v1/products/{id}/', { params: { path: { id: PRODUCT_ID } }, body: { product_name: 'Renamed' } }));
          expect(updated.product_name).toBe('Renamed');
        });
    });

    it('updateV1Product: 400 short_code_immutable', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('updateV1Product: a changed short code')
        .withRequest('PATCH', fromState('/api/v1/products/${productId}/', `/api/v1/products/${PRODUCT_ID}/`), (req) =>
          req.headers(managementAuthHeaders()).jsonBody({ short_code: 'other' }),
        )
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'short_code_immutable')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () =>
            unwrap(await clientFor(mock.url).PATCH('/api/v1/products/{id}/', { params: { path: { id: PRODUCT_ID } }, body: { short_code: 'other' } })),
          );
          expect(err).toMatchObject({ status: 400, code: 'short_code_immutable' });
        });
    });
  });

  describe('product features', () => {
    it('createV1ProductFeature: 201 with the new feature', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('createV1ProductFeature: a new consumption feature')
        .withRequest('POST', '/api/v1/product-features/', (req) =>
          req
            .headers(managementAuthHeaders())
            .jsonBody({ product: fromState('${productId}', PRODUCT_ID), name: 'Exports', code: 'exports', feature_type: 'consumption', max_consumption: 50 }),
        )
        .willRespondWith(201, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody({ ...v1ProductFeature('exports'), name: 'Exports', code: 'exports', feature_type: 'consumption', max_consumption: integer(50) }),
        )
        .executeTest(async (mock) => {
          const created = unwrap(
            await clientFor(mock.url).POST('/api/v1/product-features/', { body: { product: PRODUCT_ID, name: 'Exports', code: 'exports', feature_type: 'consumption', max_consumption: 50 } }),
          );
          expect(created).toMatchObject({ product: PRODUCT_ID, code: 'exports', max_consumption: 50 });
        });
    });

    it('createV1ProductFeature: 409 feature_code_taken', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('createV1ProductFeature: a code the product already has')
        .withRequest('POST', '/api/v1/product-features/', (req) =>
          req.headers(managementAuthHeaders()).jsonBody({ product: fromState('${productId}', PRODUCT_ID), name: 'Again', code: FEATURE, feature_type: 'consumption' }),
        )
        .willRespondWith(409, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(409, 'feature_code_taken')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () =>
            unwrap(await clientFor(mock.url).POST('/api/v1/product-features/', { body: { product: PRODUCT_ID, name: 'Again', code: FEATURE, feature_type: 'consumption' } })),
          );
          expect(err).toMatchObject({ status: 409, code: 'feature_code_taken' });
        });
    });

    it('listV1ProductFeatures: the features of a product', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('listV1ProductFeatures: the features of a product')
        .withRequest('GET', '/api/v1/product-features/', (req) => req.headers(managementAuthHeaders()).query({ product: fromState('${productId}', String(PRODUCT_ID)) }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(page({ ...v1ProductFeature(), code: FEATURE })))
        .executeTest(async (mock) => {
          const list = unwrap(await clientFor(mock.url).GET('/api/v1/product-features/', { params: { query: { product: PRODUCT_ID } } }));
          expect(list.results.map((f) => f.code)).toEqual([FEATURE]);
        });
    });

    it('listV1ProductFeatures: 400 validation_failed without the product', async () => {
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('listV1ProductFeatures: no product query parameter')
        .withRequest('GET', '/api/v1/product-features/', (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'validation_failed')))
        .executeTest(async (mock) => {
          // @ts-expect-error `product` is required: that is the point of this interaction
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/product-features/', { params: { query: {} } })));
          expect(err).toMatchObject({ status: 400, code: 'validation_failed' });
        });
    });
  });

  describe('licenses', () => {
    const licensePath = fromState('/api/v1/licenses/${licenseId}/', `/api/v1/licenses/${LICENSE_ID}/`);
    const actionPath = (action: string) => fromState(`/api/v1/licenses/\${licenseId}/${action}/`, `/api/v1/licenses/${LICENSE_ID}/${action}/`);
    const byId = { params: { path: { id: LICENSE_ID } } };
    const unknown = { params: { path: { id: UNKNOWN_ID } } };

    it('createV1License: 201 with the new license', async () => {
      const body = { product: PRODUCT_ID, license_key: 'WXYZ-WXYZ-WXYZ-WXYZ', license_type: 'consumption' as const, max_activations: 3, max_consumptions: 100, product_features: [{ product_feature: FEATURE, max_consumption: 20 }] };
      await pact
        .addInteraction()
        .given(product.name, product.params)
        .uponReceiving('createV1License: a consumption license with one feature')
        .withRequest('POST', '/api/v1/licenses/', (req) => req.headers(managementAuthHeaders()).jsonBody({ ...body, product: fromState('${productId}', PRODUCT_ID) }))
        .willRespondWith(201, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody(
            v1License({
              license_key: 'WXYZ-WXYZ-WXYZ-WXYZ',
              license_type: 'consumption',
              max_activations: integer(3),
              max_consumptions: integer(100),
              product_features: eachLike({ ...v1LicenseFeature(20), product_feature: { ...v1ProductFeature(), code: FEATURE } }),
            }),
          ),
        )
        .executeTest(async (mock) => {
          const created = unwrap(await clientFor(mock.url).POST('/api/v1/licenses/', { body }));
          expect(created).toMatchObject({ license_key: 'WXYZ-WXYZ-WXYZ-WXYZ', license_type: 'consumption', max_consumptions: 100, enabled: true });
          expect(created.product_features[0]).toMatchObject({ max_consumption: 20, product_feature: { code: FEATURE } });
        });
    });

    it('createV1License: 409 license_key_taken', async () => {
      const body = { product: PRODUCT_ID, license_key: KEY, license_type: 'perpetual' as const, max_activations: 1 };
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('createV1License: a key another license has')
        .withRequest('POST', '/api/v1/licenses/', (req) => req.headers(managementAuthHeaders()).jsonBody({ ...body, product: fromState('${productId}', PRODUCT_ID) }))
        .willRespondWith(409, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(409, 'license_key_taken')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v1/licenses/', { body })));
          expect(err).toMatchObject({ status: 409, code: 'license_key_taken' });
        });
    });

    it('listV1Licenses: licenses by key', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('listV1Licenses: the license with a key')
        .withRequest('GET', '/api/v1/licenses/', (req) => req.headers(managementAuthHeaders()).query({ license_key: KEY }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(page(v1License())))
        .executeTest(async (mock) => {
          const list = unwrap(await clientFor(mock.url).GET('/api/v1/licenses/', { params: { query: { license_key: KEY } } }));
          expect(list.results[0]?.license_key).toBe(KEY);
        });
    });

    it('listV1Licenses: 401 invalid_api_key for an unknown key', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('listV1Licenses: an unknown management key')
        .withRequest('GET', '/api/v1/licenses/', (req) => req.headers(wrongKey))
        .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(401, 'invalid_api_key')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/licenses/', { headers: wrongKey })));
          expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
        });
    });

    it('getV1License: the license', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('getV1License: an existing license')
        .withRequest('GET', licensePath, (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v1License()))
        .executeTest(async (mock) => {
          const found = unwrap(await clientFor(mock.url).GET('/api/v1/licenses/{id}/', byId));
          expect(found).toMatchObject({ license_key: KEY, enabled: true });
        });
    });

    it('getV1License: 404 license_not_found', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('getV1License: an unknown license id')
        .withRequest('GET', `/api/v1/licenses/${UNKNOWN_ID}/`, (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'license_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/licenses/{id}/', unknown)));
          expect(err).toMatchObject({ status: 404, code: 'license_not_found' });
        });
    });

    it('updateV1License: changes max_activations', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('updateV1License: a new max_activations')
        .withRequest('PATCH', licensePath, (req) => req.headers(managementAuthHeaders()).jsonBody({ max_activations: 10 }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v1License({ max_activations: 10 })))
        .executeTest(async (mock) => {
          const updated = unwrap(await clientFor(mock.url).PATCH('/api/v1/licenses/{id}/', { ...byId, body: { max_activations: 10 } }));
          expect(updated.max_activations).toBe(10);
        });
    });

    it('updateV1License: 404 license_not_found', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('updateV1License: an unknown license id')
        .withRequest('PATCH', `/api/v1/licenses/${UNKNOWN_ID}/`, (req) => req.headers(managementAuthHeaders()).jsonBody({ max_activations: 10 }))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'license_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).PATCH('/api/v1/licenses/{id}/', { ...unknown, body: { max_activations: 10 } })));
          expect(err).toMatchObject({ status: 404, code: 'license_not_found' });
        });
    });

    for (const [operationId, action, path, enabled, status] of [
      ['disableV1License', 'disable', '/api/v1/licenses/{id}/disable/', false, 'disabled'],
      ['enableV1License', 'enable', '/api/v1/licenses/{id}/enable/', true, 'inactive'],
    ] as const) {
      it(`${operationId}: the license ${enabled ? 'enabled' : 'disabled'}`, async () => {
        await pact
          .addInteraction()
          .given(license.name, license.params)
          .uponReceiving(`${operationId}: an existing license`)
          .withRequest('POST', actionPath(action), (req) => req.headers(managementAuthHeaders()))
          .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v1License({ enabled, status })))
          .executeTest(async (mock) => {
            const changed = unwrap(await clientFor(mock.url).POST(path, byId));
            expect(changed).toMatchObject({ enabled, status });
          });
      });

      it(`${operationId}: 404 license_not_found`, async () => {
        await pact
          .addInteraction()
          .given(license.name, license.params)
          .uponReceiving(`${operationId}: an unknown license id`)
          .withRequest('POST', `/api/v1/licenses/${UNKNOWN_ID}/${action}/`, (req) => req.headers(managementAuthHeaders()))
          .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'license_not_found')))
          .executeTest(async (mock) => {
            const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST(path, unknown)));
            expect(err).toMatchObject({ status: 404, code: 'license_not_found' });
          });
      });
    }

    it('resetV1LicenseConsumption: every total back to 0', async () => {
      const used = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 7, used: 3 });
      await pact
        .addInteraction()
        .given(used.name, used.params)
        .uponReceiving('resetV1LicenseConsumption: a license with 3 feature consumptions used')
        .withRequest('POST', actionPath('reset_consumption'), (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(200, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody(v1License({ total_consumptions: 0, product_features: eachLike({ ...v1LicenseFeature(10), total_consumptions: 0 }) })),
        )
        .executeTest(async (mock) => {
          const reset = unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/reset_consumption/', byId));
          expect(reset.product_features[0]?.total_consumptions).toBe(0);
        });
    });

    it('resetV1LicenseConsumption: 404 license_not_found', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('resetV1LicenseConsumption: an unknown license id')
        .withRequest('POST', `/api/v1/licenses/${UNKNOWN_ID}/reset_consumption/`, (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'license_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/reset_consumption/', unknown)));
          expect(err).toMatchObject({ status: 404, code: 'license_not_found' });
        });
    });

    const usageQuery = { feature: FEATURE, from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z', interval: 'day' } as const;
    const usageBucket = (start: string, end: string) => ({ start, end, consumed: integer(0), refunded: integer(0), net: integer(0), count: integer(0) });
    /** The usage report of `usageQuery` (two UTC days of FEATURE). */
    const v1Usage = () => ({
      license: integer(LICENSE_ID),
      scope: 'feature',
      feature: FEATURE,
      device: null,
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-03T00:00:00.000Z',
      interval: 'day',
      tz: 'UTC',
      buckets: [usageBucket('2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z'), usageBucket('2026-11-02T00:00:00.000Z', '2026-11-03T00:00:00.000Z')],
      totals: { consumed: integer(0), refunded: integer(0), net: integer(0), count: integer(0) },
    });

    it('getV1LicenseUsage: the daily buckets of a feature', async () => {
      const used = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 7, used: 3 });
      await pact
        .addInteraction()
        .given(used.name, used.params)
        .uponReceiving('getV1LicenseUsage: two days of a feature, by UTC day')
        .withRequest('GET', actionPath('usage'), (req) => req.headers(managementAuthHeaders()).query(usageQuery))
        .willRespondWith(200, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody(v1Usage()),
        )
        .executeTest(async (mock) => {
          const report = unwrap(await clientFor(mock.url).GET('/api/v1/licenses/{id}/usage/', { params: { path: { id: LICENSE_ID }, query: usageQuery } }));
          if (typeof report === 'string') throw new Error('a JSON report was expected');
          expect(report.buckets.map((b) => b.start)).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z']);
          expect(report.totals.net).toBe(report.totals.consumed + report.totals.refunded);
        });
    });

    it('getV1LicenseUsage: the daily buckets as CSV', async () => {
      const used = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 7, used: 3 });
      const header = 'license,scope,feature,device,tz,start,end,consumed,refunded,net,count';
      const rows = ['2026-11-01T00:00:00.000Z,2026-11-02T00:00:00.000Z', '2026-11-02T00:00:00.000Z,2026-11-03T00:00:00.000Z'];
      const example = `${header}\r\n${rows.map((r) => `${LICENSE_ID},feature,${FEATURE},,UTC,${r},0,0,0,0\r\n`).join('')}`;
      await pact
        .addInteraction()
        .given(used.name, used.params)
        .uponReceiving('getV1LicenseUsage: two days of a feature, by UTC day, as CSV')
        .withRequest('GET', actionPath('usage'), (req) => req.headers(managementAuthHeaders()).query({ ...usageQuery, format: 'csv' }))
        .willRespondWith(200, (res) =>
          res
            .headers({ 'Content-Type': regex(patterns.csvContentType, 'text/csv; charset=utf-8') })
            .body('text/plain', Buffer.from(example))
            .matchingRules({ body: { path: '$', rules: [regex(`^${header}\r\n${rows.map((r) => `[0-9]+,feature,${FEATURE},,UTC,${r},[0-9]+,-?[0-9]+,-?[0-9]+,[0-9]+\r\n`).join('')}$`, example)] } }),
        )
        .executeTest(async (mock) => {
          const csv = unwrap(await clientFor(mock.url).GET('/api/v1/licenses/{id}/usage/', { params: { path: { id: LICENSE_ID }, query: { ...usageQuery, format: 'csv' } }, parseAs: 'text' }));
          const lines = String(csv).split('\r\n');
          expect(lines[0]).toBe(header);
          expect(lines.slice(1, 3).map((l) => l.split(',').slice(5, 7).join(','))).toEqual(rows);
        });
    });

    it('getV1LicenseUsage: 400 validation_failed for an unknown time zone', async () => {
      const query = { ...usageQuery, tz: 'Mars/Olympus_Mons' };
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('getV1LicenseUsage: a time zone that does not exist')
        .withRequest('GET', actionPath('usage'), (req) => req.headers(managementAuthHeaders()).query(query))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'validation_failed')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/licenses/{id}/usage/', { params: { path: { id: LICENSE_ID }, query } })));
          expect(err).toMatchObject({ status: 400, code: 'validation_failed' });
        });
    });

    it('listV1LicenseLedger: the first page of entries', async () => {
      const used = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 7, used: 3 });
      await pact
        .addInteraction()
        .given(used.name, used.params)
        .uponReceiving('listV1LicenseLedger: a license with one feature consumption of 3')
        .withRequest('GET', actionPath('ledger'), (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(200, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody({
            next_cursor: null,
            results: eachLike({
              id: like('5b0f6a4e-3c1d-4f7e-9a51-2d8c0b7e6f10'),
              scope: 'feature',
              feature: FEATURE,
              device: null,
              amount: integer(3),
              total_after: integer(3),
              period_end: null,
              event: 'consumption_add',
              counted: true,
              request_id: null,
              idempotency_key: null,
              at: isoDateTime(),
            }),
          }),
        )
        .executeTest(async (mock) => {
          const page = unwrap(await clientFor(mock.url).GET('/api/v1/licenses/{id}/ledger/', byId));
          if (typeof page === 'string') throw new Error('a JSON page was expected');
          expect(page.results[0]).toMatchObject({ event: 'consumption_add', amount: 3, counted: true });
          expect(page.next_cursor).toBeNull();
        });
    });

    it('listV1LicenseLedger: every entry as CSV', async () => {
      const used = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 7, used: 3 });
      const header = 'id,scope,feature,device,amount,total_after,period_end,event,counted,request_id,idempotency_key,at';
      const example = `${header}\r\n5b0f6a4e-3c1d-4f7e-9a51-2d8c0b7e6f10,feature,${FEATURE},,3,3,,consumption_add,true,,,2026-11-01T09:30:00.000Z\r\n`;
      await pact
        .addInteraction()
        .given(used.name, used.params)
        .uponReceiving('listV1LicenseLedger: a license with one feature consumption of 3, as CSV')
        .withRequest('GET', actionPath('ledger'), (req) => req.headers(managementAuthHeaders()).query({ format: 'csv' }))
        .willRespondWith(200, (res) =>
          res
            .headers({ 'Content-Type': regex(patterns.csvContentType, 'text/csv; charset=utf-8') })
            // Pact compares a text/csv body as binary (by sniffed content type); as text/plain the regex applies.
            .body('text/plain', Buffer.from(example))
            .matchingRules({ body: { path: '$', rules: [regex(`^${header}\r\n[^,\r\n]+,feature,${FEATURE},[^\r\n]*,3,3,,consumption_add,true,[^\r\n]*\r\n$`, example)] } }),
        )
        .executeTest(async (mock) => {
          const csv = unwrap(await clientFor(mock.url).GET('/api/v1/licenses/{id}/ledger/', { params: { path: { id: LICENSE_ID }, query: { format: 'csv' } }, parseAs: 'text' }));
          const rows = String(csv).split('\r\n');
          expect(rows[0]).toBe(header);
          expect(rows[1]?.split(',').slice(1, 9)).toEqual(['feature', FEATURE, expect.any(String), '3', '3', '', 'consumption_add', 'true']);
        });
    });

    it('listV1LicenseLedger: 404 license_not_found', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('listV1LicenseLedger: an unknown license id')
        .withRequest('GET', `/api/v1/licenses/${UNKNOWN_ID}/ledger/`, (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'license_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/licenses/{id}/ledger/', unknown)));
          expect(err).toMatchObject({ status: 404, code: 'license_not_found' });
        });
    });

    it('listV1ProductUsage: the daily buckets of each license of a product', async () => {
      const used = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 7, used: 3 });
      const query = { ...usageQuery, product: PRODUCT_ID };
      await pact
        .addInteraction()
        .given(used.name, used.params)
        .uponReceiving('listV1ProductUsage: two days of a feature for each license of a product')
        .withRequest('GET', '/api/v1/usage/', (req) => req.headers(managementAuthHeaders()).query({ ...usageQuery, product: fromState('${productId}', String(PRODUCT_ID)) }))
        .willRespondWith(200, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody(page(v1Usage())),
        )
        .executeTest(async (mock) => {
          const list = unwrap(await clientFor(mock.url).GET('/api/v1/usage/', { params: { query } }));
          if (typeof list === 'string') throw new Error('a JSON page was expected');
          expect(list.results[0]?.buckets.map((b) => b.start)).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z']);
        });
    });

    it('listV1ProductUsage: 404 product_not_found', async () => {
      const query = { ...usageQuery, product: UNKNOWN_ID };
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('listV1ProductUsage: an unknown product id')
        .withRequest('GET', '/api/v1/usage/', (req) => req.headers(managementAuthHeaders()).query({ ...usageQuery, product: String(UNKNOWN_ID) }))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'product_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/usage/', { params: { query } })));
          expect(err).toMatchObject({ status: 404, code: 'product_not_found' });
        });
    });

    it('updateV1LicenseFeatures: a new feature limit', async () => {
      const body = { product_features: [{ product_feature: FEATURE, max_consumption: 50 }] };
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('updateV1LicenseFeatures: a higher max_consumption')
        .withRequest('POST', actionPath('update_features'), (req) => req.headers(managementAuthHeaders()).jsonBody(body))
        .willRespondWith(200, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody(v1License({ product_features: eachLike({ ...v1LicenseFeature(), max_consumption: 50, product_feature: { ...v1ProductFeature(), code: FEATURE } }) })),
        )
        .executeTest(async (mock) => {
          const updated = unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/update_features/', { ...byId, body }));
          expect(updated.product_features[0]).toMatchObject({ max_consumption: 50, product_feature: { code: FEATURE } });
        });
    });

    it('updateV1LicenseFeatures: 400 unknown_product_feature', async () => {
      const body = { product_features: [{ product_feature: 'no-such-feature', max_consumption: 5 }] };
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('updateV1LicenseFeatures: a feature the product does not have')
        .withRequest('POST', actionPath('update_features'), (req) => req.headers(managementAuthHeaders()).jsonBody(body))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'unknown_product_feature')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/update_features/', { ...byId, body })));
          expect(err).toMatchObject({ status: 400, code: 'unknown_product_feature' });
        });
    });
  });

  describe('devices', () => {
    it('listV1Devices: the devices of a license', async () => {
      await pact
        .addInteraction()
        .given(device.name, device.params)
        .uponReceiving('listV1Devices: the devices of a license')
        .withRequest('GET', '/api/v1/devices/', (req) => req.headers(managementAuthHeaders()).query({ license: fromState('${licenseId}', String(LICENSE_ID)) }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(page(v1Device(false))))
        .executeTest(async (mock) => {
          const list = unwrap(await clientFor(mock.url).GET('/api/v1/devices/', { params: { query: { license: LICENSE_ID } } }));
          expect(list.results[0]).toMatchObject({ hardware_id: HARDWARE_ID, blacklisted: false });
        });
    });

    it('listV1Devices: 401 invalid_api_key for an unknown key', async () => {
      await pact
        .addInteraction()
        .given(device.name, device.params)
        .uponReceiving('listV1Devices: an unknown management key')
        .withRequest('GET', '/api/v1/devices/', (req) => req.headers(wrongKey))
        .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(401, 'invalid_api_key')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/devices/', { headers: wrongKey })));
          expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
        });
    });

    for (const [operationId, action, path, blacklisted] of [
      ['blacklistV1Device', 'blacklist', '/api/v1/devices/{id}/blacklist/', true],
      ['unblacklistV1Device', 'unblacklist', '/api/v1/devices/{id}/unblacklist/', false],
    ] as const) {
      it(`${operationId}: the device with blacklisted ${blacklisted}`, async () => {
        await pact
          .addInteraction()
          .given(device.name, device.params)
          .uponReceiving(`${operationId}: an active device`)
          .withRequest('POST', fromState(`/api/v1/devices/\${deviceId}/${action}/`, `/api/v1/devices/${DEVICE_ID}/${action}/`), (req) => req.headers(managementAuthHeaders()))
          .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v1Device(blacklisted)))
          .executeTest(async (mock) => {
            const changed = unwrap(await clientFor(mock.url).POST(path, { params: { path: { id: DEVICE_ID } } }));
            expect(changed.blacklisted).toBe(blacklisted);
          });
      });

      it(`${operationId}: 404 device_not_found`, async () => {
        await pact
          .addInteraction()
          .given(device.name, device.params)
          .uponReceiving(`${operationId}: an unknown device id`)
          .withRequest('POST', `/api/v1/devices/${UNKNOWN_ID}/${action}/`, (req) => req.headers(managementAuthHeaders()))
          .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'device_not_found')))
          .executeTest(async (mock) => {
            const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST(path, { params: { path: { id: UNKNOWN_ID } } })));
            expect(err).toMatchObject({ status: 404, code: 'device_not_found' });
          });
      });
    }
  });

  describe('account', () => {
    it('getV1Account: the account and its response-signing public key', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getV1Account: the calling account')
        .withRequest('GET', '/api/v1/account/', (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(200, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody({
            id: integer(1700000000000001),
            name: like('pact-provider-account'),
            public_key: regex(patterns.publicKeyPem, '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n'),
            public_key_id: like('9c2f0d1e'),
          }),
        )
        .executeTest(async (mock) => {
          const me = unwrap(await clientFor(mock.url).GET('/api/v1/account/'));
          expect(me.public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
        });
    });

    it('getV1Account: 401 invalid_api_key for an unknown key', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getV1Account: an unknown management key')
        .withRequest('GET', '/api/v1/account/', (req) => req.headers(wrongKey))
        .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(401, 'invalid_api_key')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/account/', { headers: wrongKey })));
          expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
        });
    });
  });
});
