import { DomainError } from '../../domain/errors.js';
import { ApiError } from '../api-error.js';
import { answerOf, domainErrorTranslator, type DomainErrorTable } from '../domain-errors.js';

/** Every domain error as the Management API v1 answers it: status and code (the message is the error's). */
const V1_ERRORS: DomainErrorTable = {
  unauthenticated: [401, 'invalid_api_key'],
  forbidden: [403, 'permission_denied'],
  invalid_input: [400, 'validation_failed'],
  invalid_webhook_url: [400, 'validation_failed'],
  webhook_not_found: [404, 'not_found'],
  webhook_delivery_not_found: [404, 'not_found'],
  product_not_found: [404, 'product_not_found'],
  product_code_taken: [409, 'short_code_taken'],
  product_feature_not_found: [400, 'unknown_product_feature'],
  product_feature_code_taken: [409, 'feature_code_taken'],
  feature_listed_twice: [400, 'duplicate_product_feature'],
  license_not_found: [404, 'license_not_found'],
  license_key_taken: [409, 'license_key_taken'],
  license_disabled: [400, 'license_not_enabled'],
  license_inactive: [400, 'license_not_active'],
  license_expired: [400, 'license_expired'],
  license_not_consumption: [400, 'license_not_consumption'],
  feature_not_on_license: [400, 'unknown_product_feature'],
  feature_expired: [400, 'license_feature_expired'],
  device_not_found: [404, 'device_not_found'],
  device_blacklisted: [400, 'blacklisted'],
  // Activations are devices in this dialect.
  activation_not_found: [404, 'device_not_found'],
  activation_limit_reached: [400, 'license_activation_limit_reached'],
  floating_seat_unavailable: [400, 'floating_not_available'],
  license_not_floating: [400, 'license_not_floating'],
  borrow_not_allowed: [400, 'license_borrow_not_allowed'],
  borrow_until_invalid: [400, 'borrow_until_not_valid'],
  feature_not_floating: [400, 'feature_not_floating'],
  feature_slot_not_held: [400, 'floating_feature_device_not_in_use'],
  fingerprint_mismatch: [404, 'device_not_found'],
  consumption_limit_reached: (err) => [400, err.details.scope === 'license' ? 'license_not_enough_consumptions' : 'feature_not_enough_consumptions'],
  negative_consumption_not_allowed: [400, 'negative_consumptions_not_allowed'],
  consumption_below_zero: [400, 'negative_consumptions_not_allowed'],
  idempotency_key_reused: [409, 'idempotency_key_reused'],
  concurrent_modification: [409, 'concurrent_modification'],
  // Raised by the License API's trial_key only.
  trial_not_allowed: [400, 'trial_not_allowed'],
  trial_expired: [400, 'trial_expired'],
  not_found: [404, 'not_found'],
  license_user_email_taken: [409, 'license_user_email_taken'],
  license_user_limit_reached: [400, 'max_license_users_reached'],
};

export function toV1ApiError(err: DomainError): ApiError {
  const [status, code, message] = answerOf(V1_ERRORS, err);
  return new ApiError(status, code, message ?? err.message);
}

/** Translates domain errors raised by the v1 routes; everything else goes on unchanged. */
export const v1DomainErrors = domainErrorTranslator(toV1ApiError);

/** A product referenced in a request body that is not the account's: a bad request, not a missing resource. */
export function invalidProductReference(err: unknown): unknown {
  if (err instanceof DomainError && err.code === 'product_not_found') {
    return new ApiError(400, 'invalid_product', 'product: no such product');
  }
  return err;
}
