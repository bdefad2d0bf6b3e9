import type { DomainError } from '../../domain/errors.js';
import { ApiError } from '../api-error.js';

/** A domain error in License API terms: status 400 (409 for conflicts) and the vendor's error codes. */
export function toV4ApiError(err: DomainError): ApiError {
  const scope = err.details.scope;
  switch (err.code) {
    case 'product_not_found':
      return new ApiError(400, 'unknown_product', 'Provided product was not found');
    case 'license_not_found':
      return new ApiError(400, 'license_not_found', err.message);
    case 'license_inactive':
      return new ApiError(400, 'license_not_active', 'The license is not active');
    case 'license_disabled':
      return new ApiError(400, 'license_not_enabled', 'The license is not enabled');
    case 'license_expired':
      return new ApiError(400, 'license_expired', 'The license has expired');
    case 'license_not_consumption':
      return new ApiError(400, 'license_not_consumption', 'The license needs to be of consumption type');
    case 'feature_not_on_license':
    case 'product_feature_not_found':
      return new ApiError(400, 'unsupported_product_feature', err.message);
    case 'feature_expired':
      return new ApiError(400, 'license_feature_expired', 'The license feature has expired');
    case 'device_not_found':
      return new ApiError(400, 'device_not_found', 'An active device matching the hardware_id not found');
    case 'device_blacklisted':
      return new ApiError(400, 'blacklisted', 'This device is blacklisted');
    case 'activation_limit_reached':
      return new ApiError(400, 'license_activation_limit_reached', 'The license has reached its maximum number of activations');
    case 'consumption_limit_reached':
      return new ApiError(400, scope === 'license' ? 'license_not_enough_consumptions' : 'feature_not_enough_consumptions', 'Not enough consumptions left');
    case 'negative_consumption_not_allowed':
      return new ApiError(400, 'negative_consumptions_not_allowed', 'Negative consumptions not allowed');
    case 'consumption_below_zero':
      return new ApiError(400, 'negative_consumptions_not_allowed', 'Negative consumptions would take the total below 0');
    case 'idempotency_key_reused':
      return new ApiError(409, 'idempotency_key_reused', err.message);
    case 'concurrent_modification':
      return new ApiError(409, 'concurrent_modification', err.message);
    case 'unauthenticated':
      return new ApiError(401, 'unknown_api_key', 'Unknown License API key');
    case 'invalid_input':
      return new ApiError(400, 'validation_failed', err.message);
    case 'not_found':
      return new ApiError(404, 'not_found', err.message);
    default:
      return new ApiError(400, err.code, err.message);
  }
}
