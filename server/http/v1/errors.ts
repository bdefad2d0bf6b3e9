import type { ErrorRequestHandler } from 'express';
import { DomainError, type DomainErrorCode } from '../../domain/errors.js';
import { ApiError } from '../api-error.js';

/** Domain error codes as the Management API v1 answers them: status and code. */
const V1_ERRORS: Partial<Record<DomainErrorCode, [number, string]>> = {
  unauthenticated: [401, 'invalid_api_key'],
  invalid_input: [400, 'validation_failed'],
  product_not_found: [404, 'product_not_found'],
  product_code_taken: [409, 'short_code_taken'],
  product_feature_code_taken: [409, 'feature_code_taken'],
  product_feature_not_found: [400, 'unknown_product_feature'],
  feature_not_on_license: [400, 'unknown_product_feature'],
  license_not_found: [404, 'license_not_found'],
  license_key_taken: [409, 'license_key_taken'],
  device_not_found: [404, 'device_not_found'],
  not_found: [404, 'not_found'],
  concurrent_modification: [409, 'concurrent_modification'],
};

export function toV1ApiError(err: DomainError): ApiError {
  const [status, code] = V1_ERRORS[err.code] ?? [400, err.code];
  return new ApiError(status, code, err.message);
}

/** Translates domain errors raised by the v1 routes; everything else goes on unchanged. */
export const v1DomainErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  next(err instanceof DomainError ? toV1ApiError(err) : err);
};

/** A product referenced in a request body that is not the account's: a bad request, not a missing resource. */
export function invalidProductReference(err: unknown): unknown {
  if (err instanceof DomainError && err.code === 'product_not_found') {
    return new ApiError(400, 'invalid_product', 'product: no such product');
  }
  return err;
}
