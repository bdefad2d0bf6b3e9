import { ApiError } from '../api-error.js';
import type { LicenseLocator } from '../../domain/ports.js';

/** The identifiers License API requests share (body or query). */
export interface LicenseIdentifiers {
  product: string;
  license_key?: string | undefined;
  username?: string | undefined;
  license_id?: number | string | undefined;
}

/** Which license a request names: by key (key-based products) or license user (user-based ones). */
export function licenseLocatorOf(ids: LicenseIdentifiers): LicenseLocator {
  if (ids.license_key !== undefined && ids.username !== undefined) {
    throw new ApiError(400, 'validation_failed', 'Send either license_key or username, not both');
  }
  if (ids.license_key !== undefined) return { productCode: ids.product, key: ids.license_key };
  if (ids.username !== undefined) return { productCode: ids.product, username: ids.username };
  throw new ApiError(400, 'validation_failed', 'license_key or username is required');
}

/** The optional `license_id` (a number or its digits) as a number. */
export function licenseIdOf(ids: LicenseIdentifiers): number | undefined {
  if (ids.license_id === undefined) return undefined;
  const id = typeof ids.license_id === 'number' ? ids.license_id : Number(ids.license_id);
  if (!Number.isSafeInteger(id) || id < 1) throw new ApiError(400, 'validation_failed', 'license_id must be a license id');
  return id;
}

/** `license_key` or `username`: what the license signature and the response name the license by. */
export function identityOf(ids: LicenseIdentifiers): string {
  return ids.license_key ?? ids.username ?? '';
}
