import type { ErrorRequestHandler } from 'express';
import { DomainError, type DomainErrorCode } from '../../domain/errors.js';
import { ApiError } from '../api-error.js';
import { v3FieldOf } from './mappers.js';

/** Web API v3 status and code (lower_snake here; rendered UPPER_SNAKE) of each domain error. */
const V3_ERRORS: Partial<Record<DomainErrorCode, [number, string]>> = {
  unauthenticated: [401, 'authentication_failed'],
  forbidden: [403, 'insufficient_scope'],
  invalid_input: [400, 'validation_failed'],
  product_not_found: [400, 'invalid_license_key'],
  license_not_found: [400, 'invalid_license_key'],
  license_disabled: [400, 'revoked_license'],
  license_inactive: [400, 'revoked_license'],
  license_expired: [400, 'license_expired'],
  activation_limit_reached: [400, 'activation_limit_reached'],
  fingerprint_mismatch: [400, 'machine_fingerprint_mismatch'],
  device_blacklisted: [400, 'activation_blacklisted'],
  device_not_found: [404, 'not_found'],
  activation_not_found: [404, 'not_found'],
  not_found: [404, 'not_found'],
  feature_not_on_license: [404, 'meter_attribute_not_found'],
  feature_expired: [400, 'meter_attribute_expired'],
  consumption_limit_reached: [400, 'meter_attribute_uses_limit_reached'],
  consumption_below_zero: [400, 'meter_attribute_uses_below_zero'],
  negative_consumption_not_allowed: [400, 'meter_attribute_uses_below_zero'],
  concurrent_modification: [409, 'conflict'],
  idempotency_key_reused: [409, 'idempotency_key_reused'],
  invalid_webhook_url: [400, 'invalid_webhook_url'],
  webhook_not_found: [404, 'not_found'],
  webhook_delivery_not_found: [404, 'not_found'],
};

export function toV3ApiError(err: DomainError): ApiError {
  const mapped = V3_ERRORS[err.code];
  if (!mapped) return new ApiError(500, 'internal_error', 'Internal server error');
  const [status, code] = mapped;
  const wireField = v3FieldOf(err.details.field);
  const field = wireField !== undefined ? `body.${wireField} ` : '';
  return new ApiError(status, code, code === 'validation_failed' ? `${field}${err.message}`.trim() : err.message);
}

/** Translates domain errors thrown by v3 routes; everything else goes to the app's error handler. */
export const v3DomainErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  next(err instanceof DomainError ? toV3ApiError(err) : err);
};
