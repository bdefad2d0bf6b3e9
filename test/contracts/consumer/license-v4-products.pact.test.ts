/**
 * Consumer contract of the License API v4 calls a client makes about a product before it holds a
 * license: `product_details` and `trial_key` (signed requests and responses, as license-v4.pact.test.ts).
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../../client/index.js';
import { fromState, isoDateTime, jsonResponseHeaders, licenseApiAuthHeaders, licenseApiError, licenseKey, signedJsonResponseHeaders } from '../support/matchers.js';
import { DEFAULT_PRODUCT, states } from '../support/provider-states.js';
import { clientFor, createPact, expectApiError } from './pact.js';

const { like, integer, boolean } = MatchersV3;

const product = DEFAULT_PRODUCT;
const HARDWARE_ID = 'hw-pact-trial';
const TRIAL_DAYS = 14;
const dateHeader = () => ({ Date: new Date().toUTCString() });

describe('License API v4 products and trials (consumer)', () => {
  const pact = createPact();

  describe('getProductDetails', () => {
    it('answers the product with its trial settings', async () => {
      const { name, params } = states.trialProduct({ allowTrial: true, trialDays: TRIAL_DAYS });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('getProductDetails: a product that allows trials')
        .withRequest('GET', '/api/v4/product_details', (req) => req.headers(licenseApiAuthHeaders()).query({ product }))
        .willRespondWith(200, (res) =>
          res.headers(signedJsonResponseHeaders()).jsonBody({
            product_id: fromState('${productId}', 1000000000000002),
            product_name: like(`Product ${product}`),
            short_code: product,
            authorization_method: 'license-key',
            allow_trial: true,
            trial_days: TRIAL_DAYS,
            floating_timeout: integer(0),
            allow_overages: boolean(false),
            max_overages: integer(0),
            prevent_vm: boolean(false),
            metadata: like({}),
          }),
        )
        .executeTest(async (mock) => {
          const result = await clientFor(mock.url).GET('/api/v4/product_details', { params: { header: dateHeader(), query: { product } } });
          expect(result.response.headers.get('LicenseSignature')).toBeTruthy();
          expect(unwrap(result)).toMatchObject({ short_code: product, allow_trial: true, trial_days: TRIAL_DAYS });
        });
    });

    it('400 unknown_product for a product the account does not have', async () => {
      const { name, params } = states.trialProduct({ allowTrial: true, trialDays: TRIAL_DAYS });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('getProductDetails: an unknown product')
        .withRequest('GET', '/api/v4/product_details', (req) => req.headers(licenseApiAuthHeaders()).query({ product: 'no-such-product' }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'unknown_product')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v4/product_details', { params: { header: dateHeader(), query: { product: 'no-such-product' } } })));
          expect(err).toMatchObject({ status: 400, code: 'unknown_product', dialect: 'v4' });
        });
    });
  });

  describe('getTrialKey', () => {
    it('creates the device’s trial license', async () => {
      const { name, params } = states.trialProduct({ allowTrial: true, trialDays: TRIAL_DAYS });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('getTrialKey: a device without a trial on a product that allows trials')
        .withRequest('GET', '/api/v4/trial_key', (req) => req.headers(licenseApiAuthHeaders()).query({ product, hardware_id: HARDWARE_ID }))
        .willRespondWith(200, (res) =>
          res.headers(signedJsonResponseHeaders()).jsonBody({
            id: integer(1000000000000001),
            license_key: licenseKey(),
            order_id: integer(0),
            product_id: fromState('${productId}', 1000000000000002),
            license_type: 'time-limited',
            is_trial: true,
            active: false,
            enabled: true,
            max_activations: 1,
            times_activated: 0,
            max_transfers: integer(0),
            trial_days: TRIAL_DAYS,
            validity_period: isoDateTime(),
            enable_maintenance_period: boolean(false),
            maintenance_duration: null,
            prevent_vm: boolean(false),
            is_hardware_key_auth: boolean(false),
            metadata: like({}),
            created_at: integer(1741083330000),
            updated_at: integer(1741083330000),
          }),
        )
        .executeTest(async (mock) => {
          const result = await clientFor(mock.url).GET('/api/v4/trial_key', { params: { header: dateHeader(), query: { product, hardware_id: HARDWARE_ID } } });
          expect(result.response.headers.get('LicenseSignature')).toBeTruthy();
          const trial = unwrap(result);
          expect(trial).toMatchObject({ is_trial: true, trial_days: TRIAL_DAYS, license_type: 'time-limited' });
          expect(trial.license_key).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);
        });
    });

    it('400 trial_not_allowed on a product that does not allow trials', async () => {
      const { name, params } = states.trialProduct({ allowTrial: false, trialDays: 0 });
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving('getTrialKey: a product that does not allow trials')
        .withRequest('GET', '/api/v4/trial_key', (req) => req.headers(licenseApiAuthHeaders()).query({ product, hardware_id: HARDWARE_ID }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'trial_not_allowed')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v4/trial_key', { params: { header: dateHeader(), query: { product, hardware_id: HARDWARE_ID } } })));
          expect(err).toMatchObject({ status: 400, code: 'trial_not_allowed', dialect: 'v4' });
        });
    });
  });
});
