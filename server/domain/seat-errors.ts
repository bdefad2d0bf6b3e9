import { DomainError } from './errors.js';
import type { License } from './types.js';

/**
 * The error for a device that holds no active seat on a license: `license_inactive` when the license
 * has never been activated on any device (the License API's `license_not_active`), otherwise
 * `device_not_found` (activated, but not, or no longer, on this device).
 */
export function missingSeatError(license: Pick<License, 'timeActivated'>): DomainError {
  if (license.timeActivated === null) return new DomainError('license_inactive', 'The license is not active: it has not been activated on any device');
  return new DomainError('device_not_found', 'An active device matching the hardware_id not found');
}
