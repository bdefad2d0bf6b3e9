/**
 * Consumer contract of the License API v4 (`/api/v4/*`, HMAC-signed requests, signed responses):
 * the real client against the Pact mock server, one success and at least one documented error
 * interaction per operation. The client signs every request with the placeholder credentials; the
 * provider's request filter re-signs it with the seeded account's shared key and a fresh `Date`.
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { createLicensingClient, unwrap } from '../../../client/index.js';
import { base64, fromState, isoDateTime, jsonResponseHeaders, licenseApiAuthHeaders, licenseApiError, licenseKey, signedJsonResponseHeaders } from '../support/matchers.js';
import { DEFAULT_PRODUCT, states, type ProviderState } from '../support/provider-states.js';
import { clientFor, createPact, expectApiError, settleAfterResponse } from './pact.js';

const { like, integer, boolean, eachLike } = MatchersV3;

const KEY = 'ABCD-EFGH-JKLM-NPQR';
const HARDWARE_ID = 'hw-pact-1';
const FEATURE = 'api-calls';
const product = DEFAULT_PRODUCT;

/**
 * The operation types require the `Date` header parameter; the client's auth middleware replaces it
 * with a fresh, signed one on every request anyway.
 */
const dateHeader = () => ({ Date: new Date().toUTCString() });

/** The policy and state fields of a License API meter the client reads. */
const meterFields = (total: number, max: number) => ({
  max_consumptions: integer(max),
  total_consumptions: integer(total),
  allow_unlimited_consumptions: boolean(false),
  allow_negative_consumptions: boolean(false),
  allow_overages: boolean(false),
  max_overages: integer(0),
  reset_consumption: boolean(false),
});

/** The license as a device sees it (activate_license, check_license), as far as the client relies on it. */
const v4License = () => ({
  id: integer(1000000000000001),
  license_key: licenseKey(KEY),
  license_type: like('perpetual'),
  license_active: boolean(true),
  license_enabled: boolean(true),
  is_trial: boolean(false),
  is_expired: boolean(false),
  max_activations: integer(5),
  times_activated: integer(1),
  product_features: eachLike({
    id: integer(1000000000000003),
    code: like(FEATURE),
    name: like(FEATURE),
    feature_type: like('consumption'),
    max_consumption: integer(10),
    total_consumptions: integer(0),
  }),
  product_details: {
    product_id: integer(1000000000000002),
    product_name: like('Product pact-product'),
    short_code: like(product),
    authorization_method: like('license-key'),
  },
  device_id: integer(1000000000000004),
  hardware_id: like(HARDWARE_ID),
  license_signature: base64(),
  active: boolean(true),
  transfer_count: integer(0),
  max_transfers: integer(0),
  grace_period: integer(0),
  custom_fields: [],
  customer: like({ email: '', first_name: '', last_name: '', company_name: '' }),
  license_signature_v2: base64(),
});

/** What the floating states answer for `${borrowedUntil}` (one hour after the state's setup); any date-time does here. */
const BORROWED_UNTIL = '2025-03-04T11:15:30.000Z';
/** `borrowed_until` a null borrow (max_borrow_time 24 hours) answers, in the examples. */
const BORROWED_FOR_MAX = '2025-03-05T10:15:30.000Z';
/** Fixed invalid `borrowed_until`s: one always in the past, one always later than now + max_borrow_time (24 hours). */
const INVALID_BORROWS = [
  ['in the past', '2020-01-01T00:00:00.000Z'],
  ['later than now + max_borrow_time', '2999-01-01T00:00:00.000Z'],
] as const;

/** The answer of a license or feature borrow (max_borrow_time 24 hours). */
const borrowed = (borrowedUntil = BORROWED_UNTIL) => ({
  license_id: integer(1000000000000001),
  device_id: integer(1000000000000004),
  borrowed_until: isoDateTime(borrowedUntil),
  max_borrow_time: integer(24),
});

/** A floating release's answer: the JSON string ""; jsonBody() would store a bare string as raw text. */
const releasedBody = () => Buffer.from(JSON.stringify(''));

describe('License API v4 (consumer)', () => {
  const pact = createPact();

  describe('activateLicense', () => {
    it('activates a license on a device', async () => {
      const { name, params } = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 10 });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('activateLicense: a new device within max_activations')
        .withRequest('POST', '/api/v4/activate_license', (req) =>
          req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, hostname: like('build-01') }),
        )
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody(v4License()))
        .executeTest(async (mock) => {
          const result = await clientFor(mock.url).POST('/api/v4/activate_license', {
            params: { header: dateHeader() },
            body: { license_key: KEY, product, hardware_id: HARDWARE_ID, hostname: 'build-01' },
          });
          const license = unwrap(result);
          expect(result.response.headers.get('LicenseSignature')).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
          expect(license).toMatchObject({ license_key: KEY, license_enabled: true, hardware_id: HARDWARE_ID, active: true, transfer_count: 0, custom_fields: [] });
          expect(license.license_signature_v2).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
          expect(license.product_features[0]?.code).toBe(FEATURE);
        });
    });

    it('400 license_not_found for an unknown key', async () => {
      const { name, params } = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 10 });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('activateLicense: an unknown license key')
        .withRequest('POST', '/api/v4/activate_license', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ', product, hardware_id: HARDWARE_ID }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'license_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () =>
            unwrap(await clientFor(mock.url).POST('/api/v4/activate_license', { params: { header: dateHeader() }, body: { license_key: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ', product, hardware_id: HARDWARE_ID } })),
          );
          expect(err).toMatchObject({ status: 400, code: 'license_not_found', dialect: 'v4' });
        });
    });
  });

  describe('checkLicense', () => {
    it('answers the license for an active device', async () => {
      const { name, params } = states.licenseActivatedOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('checkLicense: a device active on the license')
        .withRequest('GET', '/api/v4/check_license', (req) => req.headers(licenseApiAuthHeaders()).query({ product, hardware_id: HARDWARE_ID, license_key: KEY }))
        .willRespondWith(200, (res) =>
          res.headers(signedJsonResponseHeaders()).jsonBody({ ...v4License(), product_features: [] }),
        )
        .executeTest(async (mock) => {
          const result = await clientFor(mock.url).GET('/api/v4/check_license', {
            params: { header: dateHeader(), query: { product, hardware_id: HARDWARE_ID, license_key: KEY } },
          });
          expect(result.response.headers.get('LicenseSignature')).toBeTruthy();
          expect(unwrap(result)).toMatchObject({ license_key: KEY, license_enabled: true, is_expired: false, hardware_id: HARDWARE_ID });
        });
    });

    it('400 device_not_found for a device without an activation', async () => {
      const { name, params } = states.licenseActivatedOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('checkLicense: a device that holds no activation')
        .withRequest('GET', '/api/v4/check_license', (req) => req.headers(licenseApiAuthHeaders()).query({ product, hardware_id: 'hw-unknown', license_key: KEY }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'device_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () =>
            unwrap(await clientFor(mock.url).GET('/api/v4/check_license', { params: { header: dateHeader(), query: { product, hardware_id: 'hw-unknown', license_key: KEY } } })),
          );
          expect(err).toMatchObject({ status: 400, code: 'device_not_found' });
        });
    });

    it('400 invalid_api_key for a License API key no account has', async () => {
      const { name, params } = states.licenseActivatedOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('checkLicense: a request signed with an unknown License API key')
        .withRequest('GET', '/api/v4/check_license', (req) =>
          req
            .headers({ ...licenseApiAuthHeaders(), Authorization: MatchersV3.regex('^algorithm="hmac-sha256",headers="date",signature="[A-Za-z0-9+/]+={0,2}",apikey="unknown-license-api-key"$', 'algorithm="hmac-sha256",headers="date",signature="AAAA",apikey="unknown-license-api-key"') })
            .query({ product, hardware_id: HARDWARE_ID, license_key: KEY }),
        )
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'invalid_api_key')))
        .executeTest(async (mock) => {
          // Not the placeholder key: the provider's request filter leaves this request as the client signed it.
          const client = createLicensingClient({ baseUrl: mock.url, licenseApi: { apiKey: 'unknown-license-api-key', sharedKey: 'some-shared-key' }, middleware: [settleAfterResponse] });
          const err = await expectApiError(async () =>
            unwrap(await client.GET('/api/v4/check_license', { params: { header: dateHeader(), query: { product, hardware_id: HARDWARE_ID, license_key: KEY } } })),
          );
          expect(err).toMatchObject({ status: 400, code: 'invalid_api_key' });
        });
    });
  });

  describe('deactivateLicense', () => {
    /** A deactivation the provider accepts: the answer is the JSON string "license_deactivated". */
    const deactivates = async ({ name, params }: ProviderState, description: string, body: { license_key: string; product: string; hardware_id: string; consumptions?: number }) => {
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving(description)
        .withRequest('POST', '/api/v4/deactivate_license', (req) => req.headers(licenseApiAuthHeaders()).jsonBody(body))
        // The body is the JSON string "license_deactivated"; jsonBody() would store a bare string as raw text.
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).body('application/json', Buffer.from(JSON.stringify('license_deactivated'))))
        .executeTest(async (mock) => {
          const data = unwrap(await clientFor(mock.url).POST('/api/v4/deactivate_license', { params: { header: dateHeader() }, body }));
          expect(data).toBe('license_deactivated');
        });
    };

    it('frees the device’s activation', async () => {
      await deactivates(states.licenseActivatedOnDevice({ key: KEY, hardwareId: HARDWARE_ID }), 'deactivateLicense: a device active on the license', { license_key: KEY, product, hardware_id: HARDWARE_ID });
    });

    it('counts the consumptions it carries, then frees the device’s activation', async () => {
      await deactivates(states.licenseWithConsumptions({ key: KEY, remaining: 10, hardwareId: HARDWARE_ID }), 'deactivateLicense: with 3 consumptions, 10 left', {
        license_key: KEY,
        product,
        hardware_id: HARDWARE_ID,
        consumptions: 3,
      });
    });

    it('400 device_not_found for a device without an activation', async () => {
      const { name, params } = states.licenseActivatedOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('deactivateLicense: a device that holds no activation')
        .withRequest('POST', '/api/v4/deactivate_license', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: 'hw-unknown' }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'device_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () =>
            unwrap(await clientFor(mock.url).POST('/api/v4/deactivate_license', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: 'hw-unknown' } })),
          );
          expect(err).toMatchObject({ status: 400, code: 'device_not_found' });
        });
    });
  });

  describe('addConsumption', () => {
    it('counts license-level consumptions', async () => {
      const { name, params } = states.licenseWithConsumptions({ key: KEY, remaining: 10, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('addConsumption: 3 of 10 consumptions left')
        .withRequest('POST', '/api/v4/add_consumption', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, consumptions: 3 }))
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody({ id: integer(1000000000000001), ...meterFields(3, 10) }))
        .executeTest(async (mock) => {
          const data = unwrap(await clientFor(mock.url).POST('/api/v4/add_consumption', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: HARDWARE_ID, consumptions: 3 } }));
          expect(data).toMatchObject({ total_consumptions: 3, max_consumptions: 10 });
        });
    });

    it('400 license_not_enough_consumptions when none are left', async () => {
      const { name, params } = states.licenseWithConsumptions({ key: KEY, remaining: 0, used: 10, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('addConsumption: no consumptions left')
        .withRequest('POST', '/api/v4/add_consumption', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, consumptions: 1 }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'license_not_enough_consumptions')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () =>
            unwrap(await clientFor(mock.url).POST('/api/v4/add_consumption', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: HARDWARE_ID, consumptions: 1 } })),
          );
          expect(err).toMatchObject({ status: 400, code: 'license_not_enough_consumptions' });
        });
    });
  });

  describe('addFeatureConsumption', () => {
    it('counts the last consumption left of a feature', async () => {
      const { name, params } = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 1, used: 4, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('addFeatureConsumption: the last consumption left')
        .withRequest('POST', '/api/v4/add_feature_consumption', (req) =>
          req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, feature: FEATURE, consumptions: 1 }),
        )
        .willRespondWith(200, (res) =>
          res.headers(signedJsonResponseHeaders()).jsonBody({
            id: integer(1000000000000003),
            code: FEATURE,
            name: like(FEATURE),
            ...meterFields(5, 5),
            license_id: integer(1000000000000001),
            is_floating: boolean(false),
            is_floating_cloud: boolean(false),
          }),
        )
        .executeTest(async (mock) => {
          const data = unwrap(
            await clientFor(mock.url).POST('/api/v4/add_feature_consumption', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: HARDWARE_ID, feature: FEATURE, consumptions: 1 } }),
          );
          expect(data).toMatchObject({ code: FEATURE, total_consumptions: 5, max_consumptions: 5, is_floating: false, is_floating_cloud: false });
          expect(typeof data.license_id).toBe('number');
        });
    });

    it('400 feature_not_enough_consumptions when none are left', async () => {
      const { name, params } = states.licenseWithFeatureConsumptions({ key: KEY, code: FEATURE, remaining: 0, used: 5, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('addFeatureConsumption: no consumptions left')
        .withRequest('POST', '/api/v4/add_feature_consumption', (req) =>
          req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, feature: FEATURE, consumptions: 1 }),
        )
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'feature_not_enough_consumptions')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () =>
            unwrap(
              await clientFor(mock.url).POST('/api/v4/add_feature_consumption', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: HARDWARE_ID, feature: FEATURE, consumptions: 1 } }),
            ),
          );
          expect(err).toMatchObject({ status: 400, code: 'feature_not_enough_consumptions' });
        });
    });
  });

  describe('releaseFloatingLicense', () => {
    const release = (mockUrl: string, hardwareId: string) =>
      clientFor(mockUrl).POST('/api/v4/floating/release', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: hardwareId } });

    it('gives the device’s floating slot back', async () => {
      const { name, params } = states.floatingLicenseOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('releaseFloatingLicense: a device holding a floating slot')
        .withRequest('POST', '/api/v4/floating/release', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID }))
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).body('application/json', releasedBody()))
        .executeTest(async (mock) => {
          const result = await release(mock.url, HARDWARE_ID);
          expect(result.response.status).toBe(200);
          expect(result.response.headers.get('LicenseSignature')).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
          expect(unwrap(result)).toBe('');
        });
    });

    it('400 license_not_floating for a license that is not floating cloud', async () => {
      const { name, params } = states.licenseActivatedOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('releaseFloatingLicense: a license that is not floating cloud')
        .withRequest('POST', '/api/v4/floating/release', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'license_not_floating')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await release(mock.url, HARDWARE_ID)));
          expect(err).toMatchObject({ status: 400, code: 'license_not_floating', dialect: 'v4' });
        });
    });

    it('400 device_not_found for a device that holds no slot', async () => {
      const { name, params } = states.floatingLicenseOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('releaseFloatingLicense: a device that holds no floating slot')
        .withRequest('POST', '/api/v4/floating/release', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: 'hw-unknown' }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'device_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await release(mock.url, 'hw-unknown')));
          expect(err).toMatchObject({ status: 400, code: 'device_not_found' });
        });
    });
  });

  describe('borrowFloatingLicense', () => {
    const borrow = (mockUrl: string, borrowedUntil: string | null) =>
      clientFor(mockUrl).POST('/api/v4/floating/borrow', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: HARDWARE_ID, borrowed_until: borrowedUntil } });

    it('holds the device’s slot until borrowed_until', async () => {
      const { name, params } = states.floatingLicenseOnDevice({ key: KEY, hardwareId: HARDWARE_ID, maxBorrowTime: 24 });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('borrowFloatingLicense: a borrow within max_borrow_time')
        .withRequest('POST', '/api/v4/floating/borrow', (req) =>
          req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, borrowed_until: fromState('${borrowedUntil}', BORROWED_UNTIL) }),
        )
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody(borrowed()))
        .executeTest(async (mock) => {
          const result = await borrow(mock.url, BORROWED_UNTIL);
          expect(result.response.headers.get('LicenseSignature')).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
          expect(unwrap(result)).toEqual({ license_id: 1000000000000001, device_id: 1000000000000004, borrowed_until: BORROWED_UNTIL, max_borrow_time: 24 });
        });
    });

    it('borrowed_until null borrows for max_borrow_time hours', async () => {
      const { name, params } = states.floatingLicenseOnDevice({ key: KEY, hardwareId: HARDWARE_ID, maxBorrowTime: 24 });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('borrowFloatingLicense: a borrow for as long as allowed')
        .withRequest('POST', '/api/v4/floating/borrow', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, borrowed_until: null }))
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody(borrowed(BORROWED_FOR_MAX)))
        .executeTest(async (mock) => {
          const data = unwrap(await borrow(mock.url, null));
          expect(data).toMatchObject({ borrowed_until: BORROWED_FOR_MAX, max_borrow_time: 24 });
        });
    });

    it('400 license_borrow_not_allowed when the license’s can_borrow is false', async () => {
      const { name, params } = states.floatingLicenseOnDevice({ key: KEY, hardwareId: HARDWARE_ID, canBorrow: false });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('borrowFloatingLicense: a license that does not allow borrowing')
        .withRequest('POST', '/api/v4/floating/borrow', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, borrowed_until: null }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'license_borrow_not_allowed')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await borrow(mock.url, null)));
          expect(err).toMatchObject({ status: 400, code: 'license_borrow_not_allowed', dialect: 'v4' });
        });
    });

    for (const [label, until] of INVALID_BORROWS) {
      it(`400 borrow_until_not_valid for a borrowed_until ${label}`, async () => {
        const { name, params } = states.floatingLicenseOnDevice({ key: KEY, hardwareId: HARDWARE_ID, maxBorrowTime: 24 });
        await pact
          .addInteraction()
          .given(name, params)
          .uponReceiving(`borrowFloatingLicense: borrowed_until ${label}`)
          .withRequest('POST', '/api/v4/floating/borrow', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, borrowed_until: until }))
          .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'borrow_until_not_valid')))
          .executeTest(async (mock) => {
            const err = await expectApiError(async () => unwrap(await borrow(mock.url, until)));
            expect(err).toMatchObject({ status: 400, code: 'borrow_until_not_valid' });
          });
      });
    }

    it('400 floating_not_available when another device holds the only slot', async () => {
      const { name, params } = states.floatingLicenseTakenByOther({ key: KEY, hardwareId: HARDWARE_ID, holder: 'hw-pact-2' });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('borrowFloatingLicense: every floating slot held by another device')
        .withRequest('POST', '/api/v4/floating/borrow', (req) =>
          req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID, borrowed_until: fromState('${borrowedUntil}', BORROWED_UNTIL) }),
        )
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'floating_not_available')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await borrow(mock.url, BORROWED_UNTIL)));
          expect(err).toMatchObject({ status: 400, code: 'floating_not_available' });
        });
    });
  });

  describe('floating license features', () => {
    const FLOATING = 'render';
    const PLAIN = 'export';
    const OTHER_DEVICE = 'hw-pact-2';
    /** A license with floating feature `render` (1 slot, 30 minutes) and plain feature `export`, the device on a seat. */
    const featureState = (p: { holder?: string; canBorrow?: boolean } = {}) => states.floatingFeatureOnDevice({ key: KEY, hardwareId: HARDWARE_ID, code: FLOATING, plainCode: PLAIN, maxBorrowTime: 24, ...p });

    interface FeatureArgs {
      hardwareId?: string;
      feature?: string;
      /** borrow only; `BORROWED_UNTIL` travels as the state's `${borrowedUntil}`. */
      borrowedUntil?: string | null;
    }
    interface RequestDeclaration {
      query(query: Record<string, string>): unknown;
      jsonBody(body: unknown): unknown;
    }
    interface FeatureOperation {
      method: 'GET' | 'POST';
      path: string;
      declare(req: RequestDeclaration, args: FeatureArgs): unknown;
      /** The real client's call, unwrapped (throws a LicensingApiError on an error answer). */
      call(mockUrl: string, args: FeatureArgs): Promise<unknown>;
    }
    const fields = (a: FeatureArgs) => ({ license_key: KEY, product, hardware_id: a.hardwareId ?? HARDWARE_ID, feature: a.feature ?? FLOATING });
    const borrowFields = (a: FeatureArgs) => ({ ...fields(a), borrowed_until: a.borrowedUntil ?? null });

    const check: FeatureOperation = {
      method: 'GET',
      path: '/api/v4/check_license_feature',
      declare: (req, a) => req.query(fields(a)),
      call: async (url, a) => unwrap(await clientFor(url).GET('/api/v4/check_license_feature', { params: { header: dateHeader(), query: fields(a) } })),
    };
    const release: FeatureOperation = {
      method: 'POST',
      path: '/api/v4/floating/feature_release',
      declare: (req, a) => req.jsonBody(fields(a)),
      call: async (url, a) => unwrap(await clientFor(url).POST('/api/v4/floating/feature_release', { params: { header: dateHeader() }, body: fields(a) })),
    };
    const borrow: FeatureOperation = {
      method: 'POST',
      path: '/api/v4/floating/feature_borrow',
      declare: (req, a) => req.jsonBody({ ...borrowFields(a), ...(a.borrowedUntil === BORROWED_UNTIL ? { borrowed_until: fromState('${borrowedUntil}', BORROWED_UNTIL) } : {}) }),
      call: async (url, a) => unwrap(await clientFor(url).POST('/api/v4/floating/feature_borrow', { params: { header: dateHeader() }, body: borrowFields(a) })),
    };

    const interaction = (op: FeatureOperation, state: ProviderState, description: string, args: FeatureArgs) =>
      pact
        .addInteraction()
        .given(state.name, state.params)
        .uponReceiving(description)
        .withRequest(op.method, op.path, (req) => {
          op.declare(req.headers(licenseApiAuthHeaders()), args);
        });

    /** `op` with `args` in `state` answers 400 `code`, which the client throws as a v4 LicensingApiError. */
    const expectRefusal = (op: FeatureOperation, state: ProviderState, description: string, args: FeatureArgs, code: string) =>
      interaction(op, state, description, args)
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, code)))
        .executeTest(async (mock) => {
          const err = await expectApiError(() => op.call(mock.url, args));
          expect(err).toMatchObject({ status: 400, code, dialect: 'v4' });
        });

    /** The license feature fields a check answers, as far as the client relies on them. */
    const featureFields = (code: string, floating: boolean) => ({
      license_id: integer(1000000000000001),
      id: integer(1000000000000003),
      code,
      name: like(code),
      feature_type: like('activation'),
      max_consumption: integer(0),
      total_consumptions: integer(0),
      is_floating_cloud: floating,
      floating_users: integer(floating ? 1 : 0),
    });

    describe('checkLicenseFeature', () => {
      it('takes a free slot of a floating feature: floating_in_use_devices 1', async () => {
        await interaction(check, featureState(), 'checkLicenseFeature: a floating feature with a free slot', {})
          .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody({ ...featureFields(FLOATING, true), floating_timeout: integer(30), floating_in_use_devices: 1 }))
          .executeTest(async (mock) => {
            expect(await check.call(mock.url, {})).toEqual({
              license_id: 1000000000000001,
              id: 1000000000000003,
              code: FLOATING,
              name: FLOATING,
              feature_type: 'activation',
              max_consumption: 0,
              total_consumptions: 0,
              is_floating_cloud: true,
              floating_users: 1,
              floating_timeout: 30,
              floating_in_use_devices: 1,
            });
          });
      });

      it('reads a feature that is not floating', async () => {
        await interaction(check, featureState(), 'checkLicenseFeature: a feature that is not floating', { feature: PLAIN })
          .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody(featureFields(PLAIN, false)))
          .executeTest(async (mock) => {
            expect(await check.call(mock.url, { feature: PLAIN })).toMatchObject({ code: PLAIN, is_floating_cloud: false, floating_users: 0 });
          });
      });

      it('400 invalid_license_feature_code for a feature the license does not have', () =>
        expectRefusal(check, featureState(), 'checkLicenseFeature: a feature code the license does not have', { feature: 'no-such-feature' }, 'invalid_license_feature_code'));

      it('400 device_not_found for a device without a seat', () =>
        expectRefusal(check, featureState(), 'checkLicenseFeature: a device that holds no seat', { hardwareId: 'hw-unknown' }, 'device_not_found'));

      it('400 floating_not_available when another device holds the only slot', () =>
        expectRefusal(check, featureState({ holder: OTHER_DEVICE }), 'checkLicenseFeature: every slot of the feature held by another device', {}, 'floating_not_available'));
    });

    describe('releaseFloatingFeature', () => {
      it('gives the device’s slot of the feature back', async () => {
        await interaction(release, featureState({ holder: HARDWARE_ID }), 'releaseFloatingFeature: a device holding a slot of the feature', {})
          .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).body('application/json', releasedBody()))
          .executeTest(async (mock) => {
            expect(await release.call(mock.url, {})).toBe('');
          });
      });

      it('400 feature_not_floating for a feature that is not floating', () =>
        expectRefusal(release, featureState({ holder: HARDWARE_ID }), 'releaseFloatingFeature: a feature that is not floating', { feature: PLAIN }, 'feature_not_floating'));

      it('400 floating_feature_device_not_in_use for a device that holds no slot of the feature', () =>
        expectRefusal(release, featureState({ holder: OTHER_DEVICE }), 'releaseFloatingFeature: a device that holds no slot of the feature', {}, 'floating_feature_device_not_in_use'));

      it('400 invalid_license_feature_code for a feature the license does not have', () =>
        expectRefusal(release, featureState(), 'releaseFloatingFeature: a feature code the license does not have', { feature: 'no-such-feature' }, 'invalid_license_feature_code'));
    });

    describe('borrowFloatingFeature', () => {
      it('takes a free slot and holds it until borrowed_until', async () => {
        await interaction(borrow, featureState(), 'borrowFloatingFeature: a borrow within max_borrow_time', { borrowedUntil: BORROWED_UNTIL })
          .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody(borrowed()))
          .executeTest(async (mock) => {
            expect(await borrow.call(mock.url, { borrowedUntil: BORROWED_UNTIL })).toEqual({ license_id: 1000000000000001, device_id: 1000000000000004, borrowed_until: BORROWED_UNTIL, max_borrow_time: 24 });
          });
      });

      it('borrowed_until null borrows the device’s slot for max_borrow_time hours', async () => {
        await interaction(borrow, featureState({ holder: HARDWARE_ID }), 'borrowFloatingFeature: a borrow of the held slot for as long as allowed', { borrowedUntil: null })
          .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody(borrowed(BORROWED_FOR_MAX)))
          .executeTest(async (mock) => {
            expect(await borrow.call(mock.url, { borrowedUntil: null })).toMatchObject({ borrowed_until: BORROWED_FOR_MAX, max_borrow_time: 24 });
          });
      });

      it('400 license_borrow_not_allowed when the license’s can_borrow is false', () =>
        expectRefusal(borrow, featureState({ canBorrow: false }), 'borrowFloatingFeature: a license that does not allow borrowing', { borrowedUntil: null }, 'license_borrow_not_allowed'));

      for (const [label, until] of INVALID_BORROWS) {
        it(`400 borrow_until_not_valid for a borrowed_until ${label}`, () =>
          expectRefusal(borrow, featureState(), `borrowFloatingFeature: borrowed_until ${label}`, { borrowedUntil: until }, 'borrow_until_not_valid'));
      }

      it('400 floating_not_available when another device holds the only slot', () =>
        expectRefusal(borrow, featureState({ holder: OTHER_DEVICE }), 'borrowFloatingFeature: every slot of the feature held by another device', { borrowedUntil: BORROWED_UNTIL }, 'floating_not_available'));

      it('400 feature_not_floating for a feature that is not floating', () =>
        expectRefusal(borrow, featureState(), 'borrowFloatingFeature: a feature that is not floating', { feature: PLAIN, borrowedUntil: null }, 'feature_not_floating'));
    });
  });
});
