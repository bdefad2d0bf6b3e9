import type { Clock } from './clock.js';
import { currentTotal, isPeriodDue, resetAtFor, type MeterState } from './meter.js';
import type { Device, License } from './types.js';
import type { LicenseLocator, LicenseMetersPort, ProductLookup } from './ports.js';
import { assertUsable, locateLicense } from './license-rules.js';

/** A meter as it reads at `now`: a period that has ended shows a total of 0 and the next reset time. */
export function meterAsOf<M extends MeterState>(meter: M, now: Date): M {
  return isPeriodDue(meter, now) ? { ...meter, total: currentTotal(meter, now), resetAt: resetAtFor(meter, now) } : meter;
}

/** A license with every meter as it reads at `now` (nothing is written). */
export function licenseAsOf(license: License, now: Date): License {
  return { ...license, consumption: meterAsOf(license.consumption, now), features: license.features.map((f) => meterAsOf(f, now)) };
}

/** Keeps a license's last check time (`last_check` in the Management API). */
export interface LastCheckRecorder {
  markChecked(licenseId: number, at: Date): Promise<void>;
}

/**
 * How precisely a license's last check time is kept: a check within this long of the recorded one
 * writes nothing, so a client checking in a loop costs reads, not a write per call.
 */
export const LAST_CHECK_RESOLUTION_MS = 60_000;

/**
 * Reading a license from a client device's point of view: locate it (by key or license user within a
 * product, optionally pinned to an id), and check it is usable from that device.
 */
export class LicenseCheckService {
  constructor(
    private readonly meters: LicenseMetersPort,
    private readonly products: ProductLookup,
    private readonly clock: Clock,
    private readonly checks: LastCheckRecorder,
    /** The device's seat: taken or renewed on a floating-cloud license, required elsewhere (DeviceService.checkIn). */
    private readonly seats: { checkIn(accountId: number, license: License, hardwareId: string): Promise<{ license: License; device: Device }> },
  ) {}

  /** The license a client names; `product_not_found` / `license_not_found` when there is none. */
  async locate(accountId: number, locator: LicenseLocator, licenseId?: number): Promise<License> {
    const found = await locateLicense(this.meters, this.products, accountId, locator, licenseId);
    const { pending: _pending, ...license } = found;
    return license;
  }

  /**
   * The license's current state for a device active on it (consumption as of now, due resets read
   * as 0), recorded as the license's last check (to the minute); on a floating-cloud license the check
   * takes or renews the device's seat. Errors: disabled, expired, no seat for the device (no floating
   * seat free), blacklisted device.
   */
  async check(accountId: number, locator: LicenseLocator, hardwareId: string, licenseId?: number): Promise<{ license: License; seat: Device }> {
    const located = await this.locate(accountId, locator, licenseId);
    const now = this.clock.now();
    assertUsable(located, now);
    const { license, device } = await this.seats.checkIn(accountId, located, hardwareId);
    if (license.lastCheck === null || now.getTime() - license.lastCheck.getTime() >= LAST_CHECK_RESOLUTION_MS) {
      await this.checks.markChecked(license.id, now);
      return { license: licenseAsOf({ ...license, lastCheck: now }, now), seat: device };
    }
    return { license: licenseAsOf(license, now), seat: device };
  }
}
