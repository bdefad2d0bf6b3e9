/**
 * The rules of the license aggregate, each written once: whether a license can be used now, which
 * seat a call names, and when a counter may change (the TypeScript twin of the guarded update's filter).
 */
import { DomainError } from './errors.js';
import type { MeterState } from './meter.js';
import type { FloatingUses, MeterChange, MeterTarget, SeatLocator } from './ports.js';
import type { License, Seat } from './types.js';

export type LicenseUsability = 'usable' | 'disabled' | 'expired';

/** A license can be used while it is enabled and not past the end of its validity. */
export function usabilityOf(license: Pick<License, 'enabled' | 'validUntil'>, now: Date): LicenseUsability {
  if (!license.enabled) return 'disabled';
  if (isExpired(license, now)) return 'expired';
  return 'usable';
}

/** Past the end of its validity (`validUntil` is the first moment it is no longer valid). */
export function isExpired(license: Pick<License, 'validUntil'>, now: Date): boolean {
  return license.validUntil !== null && license.validUntil.getTime() <= now.getTime();
}

/** Throws `license_disabled` / `license_expired` unless the license can be used now. */
export function assertUsable(license: Pick<License, 'enabled' | 'validUntil'>, now: Date, disabledMessage = 'The license is not enabled'): void {
  const usability = usabilityOf(license, now);
  if (usability === 'disabled') throw new DomainError('license_disabled', disabledMessage);
  if (usability === 'expired') throw new DomainError('license_expired', 'The license has expired');
}

/**
 * Why the guarded update of a counter refuses a change, in the order the APIs report the reasons.
 * `period_due`: the meter's period has ended (it is reset, then the change is tried again).
 */
export type MeterRefusal =
  | 'already_applied'
  | 'license_disabled'
  | 'license_expired'
  | 'seat_missing'
  | 'device_blacklisted'
  | 'license_not_consumption'
  | 'meter_missing'
  | 'feature_expired'
  | 'period_due'
  | 'negative_not_allowed'
  | 'below_zero'
  | 'limit_reached';

export function meterOf(license: License, target: MeterTarget): MeterState | undefined {
  return target.scope === 'license' ? license.consumption : license.features.find((f) => f.code === target.code);
}

export function seatOf(license: License, seat: SeatLocator | undefined): Seat | undefined {
  if (!seat) return undefined;
  return license.seats.find((s) => ('hardwareId' in seat ? s.hardwareId === seat.hardwareId : s.activationId === seat.activationId));
}

/** Whether `next` passes the meter's ceiling or the call's (tightening) overage cap. */
export function exceedsLimit(meter: MeterState, next: number, cap: MeterChange['overageCap']): boolean {
  if (meter.ceiling !== null && next > meter.ceiling) return true;
  if (cap && !meter.unlimited) {
    if (cap.allowOverages === false && next > meter.max) return true;
    if (cap.maxOverages !== undefined && cap.maxOverages > 0 && next > meter.max + cap.maxOverages) return true;
  }
  return false;
}

/** What the rules look at in a change (the rest of a MeterChange is what the write records). */
export type MeterRuleInput = Omit<MeterChange, 'accountId' | 'license' | 'outbox' | 'events'>;

/**
 * The TypeScript form of the counter rules: the first rule `change` breaks on `license` (as stored,
 * with the idempotency keys it recently applied), or null when the guarded update accepts it. The
 * query form of the same rules is `meterChangeFilter` (server/db/license-meters.ts), which the database
 * evaluates atomically; `test/domain/license-rules.property.test.ts` generates licenses and changes and
 * checks that the two agree on every one.
 */
export function meterRefusal(license: License, recentOpKeys: readonly string[], change: MeterRuleInput): MeterRefusal | null {
  const now = change.now.getTime();
  if (change.idempotencyKey !== undefined && recentOpKeys.includes(change.idempotencyKey)) return 'already_applied';
  const usability = usabilityOf(license, change.now);
  if (usability === 'disabled') return 'license_disabled';
  if (usability === 'expired') return 'license_expired';
  if (change.seat) {
    const seat = seatOf(license, change.seat);
    if (!seat) return 'seat_missing';
    if (seat.blacklisted) return 'device_blacklisted';
  }
  if (change.target.scope === 'license' && change.requireConsumptionLicense && license.type !== 'consumption') return 'license_not_consumption';
  const meter = meterOf(license, change.target);
  if (!meter) return 'meter_missing';
  if (change.target.scope === 'feature') {
    const code = change.target.code;
    const feature = license.features.find((f) => f.code === code)!;
    if (feature.expiryDate !== null && feature.expiryDate.getTime() <= now) return 'feature_expired';
  }
  if (meter.resetAt !== null && meter.resetAt.getTime() <= now) return 'period_due';
  const amount = change.amount;
  if (amount < 0) {
    if (change.negatives === 'policy' && !meter.allowNegative) return 'negative_not_allowed';
    const deviceUses =
      change.deviceUses !== undefined && change.target.scope === 'feature'
        ? ((meter as { uses?: Record<string, number> }).uses?.[String(change.deviceUses)] ?? 0)
        : Infinity;
    if (meter.total + amount < 0 || deviceUses + amount < 0) return 'below_zero';
  }
  if (amount > 0 && exceedsLimit(meter, meter.total + amount, change.overageCap)) return 'limit_reached';
  return null;
}

/**
 * What a device gives back when its seat is freed: its uses of every floating meter (the feature, or
 * the whole license, floats), with each feature's position as read (the release is guarded by them).
 */
export function floatingUsesOf(license: License, deviceId: number): FloatingUses[] {
  const floats = license.isFloating || license.isFloatingCloud;
  return license.features.flatMap((f, index) => (floats || f.isFloating || f.isFloatingCloud ? [{ code: f.code, index, uses: f.uses[String(deviceId)] ?? 0 }] : []));
}
