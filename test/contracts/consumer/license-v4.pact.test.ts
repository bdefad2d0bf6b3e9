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
import { DEFAULT_PRODUCT, states } from '../support/provider-states.js';
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
});

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
          expect(license).toMatchObject({ license_key: KEY, license_enabled: true, hardware_id: HARDWARE_ID });
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

    it('401 unknown_api_key for a License API key no account has', async () => {
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
        .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(401, 'unknown_api_key')))
        .executeTest(async (mock) => {
          // Not the placeholder key: the provider's request filter leaves this request as the client signed it.
          const client = createLicensingClient({ baseUrl: mock.url, licenseApi: { apiKey: 'unknown-license-api-key', sharedKey: 'some-shared-key' }, middleware: [settleAfterResponse] });
          const err = await expectApiError(async () =>
            unwrap(await client.GET('/api/v4/check_license', { params: { header: dateHeader(), query: { product, hardware_id: HARDWARE_ID, license_key: KEY } } })),
          );
          expect(err).toMatchObject({ status: 401, code: 'unknown_api_key' });
        });
    });
  });

  describe('deactivateLicense', () => {
    it('frees the device’s activation', async () => {
      const { name, params } = states.licenseActivatedOnDevice({ key: KEY, hardwareId: HARDWARE_ID });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('deactivateLicense: a device active on the license')
        .withRequest('POST', '/api/v4/deactivate_license', (req) => req.headers(licenseApiAuthHeaders()).jsonBody({ license_key: KEY, product, hardware_id: HARDWARE_ID }))
        // The body is the JSON string "license_deactivated"; jsonBody() would store a bare string as raw text.
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).body('application/json', Buffer.from(JSON.stringify('license_deactivated'))))
        .executeTest(async (mock) => {
          const data = unwrap(await clientFor(mock.url).POST('/api/v4/deactivate_license', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: HARDWARE_ID } }));
          expect(data).toBe('license_deactivated');
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
          res.headers(signedJsonResponseHeaders()).jsonBody({ id: integer(1000000000000003), code: FEATURE, name: like(FEATURE), ...meterFields(5, 5) }),
        )
        .executeTest(async (mock) => {
          const data = unwrap(
            await clientFor(mock.url).POST('/api/v4/add_feature_consumption', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: HARDWARE_ID, feature: FEATURE, consumptions: 1 } }),
          );
          expect(data).toMatchObject({ code: FEATURE, total_consumptions: 5, max_consumptions: 5 });
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
        // The body is the JSON string ""; jsonBody() would store a bare string as raw text.
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).body('application/json', Buffer.from(JSON.stringify(''))))
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
    /** What the state handler answers for `${borrowedUntil}` (one hour after the state's setup); any date-time does here. */
    const BORROWED_UNTIL = '2025-03-04T11:15:30.000Z';
    const borrow = (mockUrl: string, borrowedUntil: string | null) =>
      clientFor(mockUrl).POST('/api/v4/floating/borrow', { params: { header: dateHeader() }, body: { license_key: KEY, product, hardware_id: HARDWARE_ID, borrowed_until: borrowedUntil } });
    const borrowed = (borrowedUntil = BORROWED_UNTIL) => ({
      license_id: integer(1000000000000001),
      device_id: integer(1000000000000004),
      borrowed_until: isoDateTime(borrowedUntil),
      max_borrow_time: integer(24),
    });

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
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).jsonBody(borrowed('2025-03-05T10:15:30.000Z')))
        .executeTest(async (mock) => {
          const data = unwrap(await borrow(mock.url, null));
          expect(data).toMatchObject({ borrowed_until: '2025-03-05T10:15:30.000Z', max_borrow_time: 24 });
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

    // Fixed dates: one always in the past, one always later than now + max_borrow_time (24 hours).
    for (const [label, until] of [
      ['in the past', '2020-01-01T00:00:00.000Z'],
      ['later than now + max_borrow_time', '2999-01-01T00:00:00.000Z'],
    ] as const) {
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
});
