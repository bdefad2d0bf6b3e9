import type { DomainError } from '../../domain/errors.js';
import { ApiError } from '../api-error.js';
import { answerOf, domainErrorTranslator, type DomainErrorTable } from '../domain-errors.js';
import { v3FieldOf } from './mappers.js';

/** Every domain error as the Web API v3 answers it: status and code (lower_snake here; rendered UPPER_SNAKE). */
const V3_ERRORS: DomainErrorTable = {
  unauthenticated: [401, 'authentication_failed'],
  forbidden: [403, 'insufficient_scope'],
  invalid_input: [400, 'validation_failed'],
  invalid_webhook_url: [400, 'invalid_webhook_url'],
  webhook_not_found: [404, 'not_found'],
  webhook_delivery_not_found: [404, 'not_found'],
  product_not_found: [400, 'invalid_license_key'],
  product_code_taken: [409, 'conflict'],
  // Product features are meter attributes in this dialect.
  product_feature_not_found: [404, 'meter_attribute_not_found'],
  product_feature_code_taken: [409, 'conflict'],
  feature_listed_twice: [400, 'validation_failed'],
  license_not_found: [400, 'invalid_license_key'],
  license_key_taken: [409, 'conflict'],
  license_disabled: [400, 'revoked_license'],
  license_inactive: [400, 'revoked_license'],
  license_expired: [400, 'license_expired'],
  license_not_consumption: [400, 'validation_failed'],
  feature_not_on_license: [404, 'meter_attribute_not_found'],
  feature_expired: [400, 'meter_attribute_expired'],
  device_not_found: [404, 'not_found'],
  device_blacklisted: [400, 'activation_blacklisted'],
  activation_not_found: [404, 'not_found'],
  activation_limit_reached: [400, 'activation_limit_reached'],
  // A floating license's seats are its activations in this dialect.
  floating_seat_unavailable: [400, 'activation_limit_reached'],
  license_not_floating: [400, 'validation_failed'],
  borrow_not_allowed: [400, 'validation_failed'],
  borrow_until_invalid: [400, 'validation_failed'],
  feature_not_floating: [400, 'validation_failed'],
  feature_slot_not_held: [404, 'not_found'],
  fingerprint_mismatch: [400, 'machine_fingerprint_mismatch'],
  consumption_limit_reached: [400, 'meter_attribute_uses_limit_reached'],
  negative_consumption_not_allowed: [400, 'meter_attribute_uses_below_zero'],
  consumption_below_zero: [400, 'meter_attribute_uses_below_zero'],
  idempotency_key_reused: [409, 'idempotency_key_reused'],
  concurrent_modification: [409, 'conflict'],
  // Trial activations (and the License API's trial_key): the vendor SDK's LA_E_TRIAL_NOT_ALLOWED / LA_TRIAL_EXPIRED.
  trial_not_allowed: [400, 'trial_not_allowed'],
  trial_expired: [400, 'trial_expired'],
  not_found: [404, 'not_found'],
  license_user_email_taken: [409, 'conflict'],
  license_user_limit_reached: [400, 'validation_failed'],
};

/** The error's v3 answer; a validation error's message names the field (`body.<field> ...`) when the error says which. */
export function toV3ApiError(err: DomainError): ApiError {
  const [status, code] = answerOf(V3_ERRORS, err);
  const wireField = v3FieldOf(err.details.field);
  const field = wireField !== undefined ? `body.${wireField} ` : '';
  return new ApiError(status, code, code === 'validation_failed' ? `${field}${err.message}`.trim() : err.message);
}

/** Translates domain errors thrown by v3 routes; everything else goes to the app's error handler. */
export const v3DomainErrors = domainErrorTranslator(toV3ApiError);
