import type { RequestHandler } from 'express';
import { activationLocatorOf, licenseLocatorOf, type LicenseIdentifiers } from './mappers.js';

/** The operations whose body names a license by `license_key` or `username` (documented in each request schema), and may pin its `license_id`. */
export const LICENSE_NAMING_BODIES: readonly string[] = [
  '/api/v4/activate_license',
  '/api/v4/deactivate_license',
  '/api/v4/add_consumption',
  '/api/v4/add_feature_consumption',
  '/api/v4/floating/release',
  '/api/v4/floating/borrow',
  '/api/v4/floating/feature_release',
  '/api/v4/floating/feature_borrow',
];

/**
 * Runs before request validation (MountedApi.beforeValidation): the body's either/or
 * `license_key | username` rule (activationLocatorOf / licenseLocatorOf), which the spec documents in
 * text rather than as a required-only `oneOf`, answered before any other schema error as it always was:
 * neither is `missing_parameters`, both `validation_error`. A body that is not an object is left to the validator.
 */
export function licenseIdentifiersCheck(): RequestHandler {
  return (req, _res, next) => {
    const body: unknown = req.body;
    if (req.method === 'POST' && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      const path = req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
      if (path === '/api/v4/activate_license') activationLocatorOf(body as LicenseIdentifiers);
      else if (LICENSE_NAMING_BODIES.includes(path)) licenseLocatorOf(body as LicenseIdentifiers);
    }
    next();
  };
}
