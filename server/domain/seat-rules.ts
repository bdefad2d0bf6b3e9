/**
 * The rules of seats that expire (floating licenses, leases, borrows), for every dialect, each with
 * its query form where the database applies it: how many seats a license allows (`seatLimitOf` /
 * `seatLimitExpression`), whether a seat is live (`isSeatLive` / `liveSeatFilter`,
 * `expiredSeatFilter`), how long a take or a renewal leases it for (`leaseOf`), and how long a device
 * may borrow it (`borrowEndOf`).
 *
 * A seat is a device that is `active` (see DeviceService). It is live until its `leaseExpiresAt`
 * (never, when null). Only live seats may be used; a seat that has expired still counts in the
 * license's `timesActivated` until it is reclaimed: given back in the same license write that gives
 * its place to another device (DeviceService.activate), or by the sweep (reclaimExpiredSeats). So the
 * live seats never outnumber the limit, and a renewal of a seat that is still counted (even after its
 * end, before anyone reclaimed it) can never make them.
 */
import { DomainError } from './errors.js';
import { hasPassed, notPassedFilter, type QueryDocument } from './query-forms.js';
import type { Device, License, LicenseFeature } from './types.js';

/**
 * How many devices may hold a seat at once: `floatingUsers` on a floating-cloud license (concurrent
 * use: its `maxActivations` is not applied), `maxActivations` on any other.
 */
export function seatLimitOf(license: Pick<License, 'isFloatingCloud' | 'floatingUsers' | 'maxActivations'>): number {
  return license.isFloatingCloud ? license.floatingUsers : license.maxActivations;
}

/** The query form of `seatLimitOf` over the stored license (an aggregation expression). */
export function seatLimitExpression(): QueryDocument {
  return { $cond: [{ $eq: ['$isFloatingCloud', true] }, { $ifNull: ['$floatingUsers', 0] }, '$maxActivations'] };
}

/** A device's seat is live while it is active and its lease has not ended. */
export function isSeatLive(device: Pick<Device, 'active' | 'leaseExpiresAt'>, now: Date): boolean {
  return device.active && !hasPassed(device.leaseExpiresAt, now);
}

/** The query form of `isSeatLive` on device documents. */
export function liveSeatFilter(now: Date): QueryDocument {
  return { active: true, ...notPassedFilter('leaseExpiresAt', now) };
}

/**
 * The query form of "an expired seat nobody is changing": active, no seat change in flight, lease
 * ended at `now` (`!isSeatLive` of an active device). `licenseId`: of one license only.
 */
export function expiredSeatFilter(now: Date, licenseId?: number): QueryDocument {
  return { ...(licenseId !== undefined ? { licenseId } : {}), leaseExpiresAt: { $ne: null, $lte: now }, active: true, seatChange: null };
}

/** Latest lease end a Date can show in every format (9999-12-31T23:59:59Z). */
const LATEST_LEASE_END = Date.UTC(9999, 11, 31, 23, 59, 59);

function after(now: Date, ms: number): Date {
  return new Date(Math.min(now.getTime() + ms, LATEST_LEASE_END));
}

/** The lease of a seat as a take or a renewal leaves it. */
export interface SeatLease {
  /** Seconds asked for, kept as the device's last requested duration (undefined: unchanged). */
  leaseDuration?: number | null;
  leaseExpiresAt: Date | null;
}

/**
 * The lease a take or a renewal (an activation, a check, a Web API v3 sync) gives the device's seat,
 * from `now`:
 * 1. the duration the request asks for (`requested`, seconds; null: no end), kept as the device's
 *    last requested one;
 * 2. else, on a floating-cloud license with a `floatingTimeout`, that many minutes (the license's
 *    setting: a client that stops checking in loses its seat);
 * 3. else the device's last requested duration (a sync without `leaseDuration` renews by it);
 * 4. else no end.
 * A borrow in progress holds the seat at least until its end (`borrowedUntil`).
 */
export function leaseOf(license: Pick<License, 'isFloatingCloud' | 'floatingTimeout'>, device: Pick<Device, 'leaseDuration' | 'borrowedUntil'> | null, requested: number | null | undefined, now: Date): SeatLease {
  let end: Date | null;
  if (requested !== undefined) end = requested === null ? null : after(now, requested * 1000);
  else if (license.isFloatingCloud && license.floatingTimeout) end = after(now, license.floatingTimeout * 60_000);
  else if (device?.leaseDuration) end = after(now, device.leaseDuration * 1000);
  else end = null;
  const borrowed = device?.borrowedUntil ?? null;
  if (end !== null && borrowed !== null && borrowed.getTime() > end.getTime()) end = borrowed;
  return requested !== undefined ? { leaseDuration: requested, leaseExpiresAt: end } : { leaseExpiresAt: end };
}

/**
 * The lease a take or renewal gives a slot of a floating feature: the feature's `floatingTimeout`
 * minutes from now (null or 0: no end), at least until `borrowedUntil` when borrowed.
 */
export function featureLeaseOf(feature: Pick<LicenseFeature, 'floatingTimeout'>, borrowedUntil: Date | null, now: Date): Date | null {
  if (!feature.floatingTimeout) return null;
  const end = after(now, feature.floatingTimeout * 60_000);
  return borrowedUntil !== null && borrowedUntil.getTime() > end.getTime() ? borrowedUntil : end;
}

/** Whether the device is borrowing its seat at `now`. */
export function isBorrowed(device: Pick<Device, 'borrowedUntil'>, now: Date): boolean {
  return device.borrowedUntil !== null && !hasPassed(device.borrowedUntil, now);
}

/**
 * The end of a borrow the device asks for (`until`; null: as long as allowed): only on a floating-cloud
 * license that allows borrowing (`borrow_not_allowed`), later than `now` and at most `maxBorrowTime`
 * hours from it (`borrow_until_invalid`).
 */
export function borrowEndOf(license: Pick<License, 'isFloatingCloud' | 'canBorrow' | 'maxBorrowTime'>, until: Date | null, now: Date): Date {
  if (!license.isFloatingCloud || !license.canBorrow) throw new DomainError('borrow_not_allowed', 'Borrowing is not allowed for this license');
  const latest = after(now, license.maxBorrowTime * 3_600_000);
  const end = until ?? latest;
  if (end.getTime() <= now.getTime() || end.getTime() > latest.getTime()) {
    throw new DomainError('borrow_until_invalid', `The borrow must end later than now and at most ${license.maxBorrowTime} hours from now`, {
      field: 'borrowedUntil',
      latest: latest.toISOString(),
    });
  }
  return end;
}

/** The error of a take on a license whose seats are all live: the floating pool is full, or the activations are used up. */
export function seatLimitError(license: Pick<License, 'isFloatingCloud' | 'floatingUsers' | 'maxActivations'>): DomainError {
  if (license.isFloatingCloud) return new DomainError('floating_seat_unavailable', 'Every floating seat of the license is in use', { floatingUsers: license.floatingUsers });
  return new DomainError('activation_limit_reached', 'The license has reached its maximum number of activations', { maxActivations: license.maxActivations });
}
