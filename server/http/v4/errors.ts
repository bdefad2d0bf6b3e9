import type { DomainError } from '../../domain/errors.js';
import { ApiError } from '../api-error.js';
import { answerOf, domainErrorTranslator, type DomainErrorTable } from '../domain-errors.js';

const DEVICE_NOT_FOUND = [400, 'device_not_found', 'An active device matching the hardware_id not found'] as const;

/**
 * Every domain error as the License API answers it: status 400 (409 for conflicts, 404 for an
 * unknown object), the vendor's error code (https://docs.licensespring.com/license-api/error-responses,
 * https://docs.licensespring.com/sdks/errors-and-response-codes) and, where the vendor fixes it, the
 * message (otherwise the error's). The codes are the `code` enum of openapi/components/schemas/V4Error.yaml.
 */
const V4_ERRORS: DomainErrorTable = {
  unauthenticated: [400, 'invalid_api_key', 'The api key is not a License API key of any account'],
  forbidden: [400, 'api_key_product_not_allowed'],
  invalid_input: [400, 'validation_error'],
  invalid_webhook_url: [400, 'validation_error'],
  webhook_not_found: [404, 'not_found'],
  webhook_delivery_not_found: [404, 'not_found'],
  product_not_found: [400, 'unknown_product', 'Provided product was not found'],
  product_code_taken: [409, 'short_code_taken'],
  product_feature_not_found: [400, 'unsupported_product_feature'],
  product_feature_code_taken: [409, 'feature_code_taken'],
  feature_listed_twice: [400, 'validation_error'],
  license_not_found: [400, 'license_not_found'],
  license_key_taken: [409, 'license_key_taken'],
  license_disabled: [400, 'license_not_enabled', 'The license is not enabled'],
  license_inactive: [400, 'license_not_active', 'The license is not active'],
  license_expired: [400, 'license_expired', 'The license has expired'],
  license_not_consumption: [400, 'license_not_consumption', 'The license needs to be of consumption type'],
  // A feature a check or a floating call names: the vendor's code for those; consumption calls keep theirs.
  feature_not_on_license: (err) => [400, err.details.check ? 'invalid_license_feature_code' : 'unsupported_product_feature'],
  feature_expired: [400, 'license_feature_expired', 'The license feature has expired'],
  device_not_found: DEVICE_NOT_FOUND,
  device_blacklisted: [400, 'blacklisted', 'This device is blacklisted'],
  // Activations are devices named by hardware_id in this dialect.
  activation_not_found: DEVICE_NOT_FOUND,
  activation_limit_reached: [400, 'license_activated_max_times', 'The license is already activated on its maximum number of devices'],
  floating_seat_unavailable: [400, 'floating_not_available', 'No floating slot is available for this license'],
  license_not_floating: [400, 'license_not_floating', 'The license is not a floating cloud license'],
  borrow_not_allowed: [400, 'license_borrow_not_allowed', 'Borrowing is not allowed for this license'],
  borrow_until_invalid: [400, 'borrow_until_not_valid'],
  feature_not_floating: [400, 'feature_not_floating', 'License feature is not a floating cloud feature'],
  feature_slot_not_held: [400, 'floating_feature_device_not_in_use', 'The device does not hold a floating slot of this feature'],
  fingerprint_mismatch: DEVICE_NOT_FOUND,
  consumption_limit_reached: (err) => [400, err.details.scope === 'license' ? 'license_not_enough_consumptions' : 'feature_not_enough_consumptions', 'Not enough consumptions left'],
  negative_consumption_not_allowed: [400, 'negative_consumptions_not_allowed', 'Negative consumptions not allowed'],
  consumption_below_zero: [400, 'negative_consumptions_not_allowed', 'Negative consumptions would take the total below 0'],
  idempotency_key_reused: [409, 'idempotency_key_reused'],
  concurrent_modification: [409, 'concurrent_modification'],
  // trial_key (vendor codes: https://docs.licensespring.com/license-api/trial-key, https://docs.licensespring.com/sdks/errors-and-response-codes).
  trial_not_allowed: [400, 'trial_not_allowed', 'Product does not allow trial'],
  trial_expired: [400, 'trial_expired', 'Trial period for device has expired'],
  not_found: [404, 'not_found'],
  license_user_email_taken: [409, 'license_user_email_taken'],
  license_user_limit_reached: [400, 'max_license_users_reached'],
};

export function toV4ApiError(err: DomainError): ApiError {
  const [status, code, message] = answerOf(V4_ERRORS, err);
  return new ApiError(status, code, message ?? err.message);
}

/** Translates domain errors raised by the License API routes; everything else goes on unchanged. */
export const v4DomainErrors = domainErrorTranslator(toV4ApiError);
