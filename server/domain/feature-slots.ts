import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { assertUsable, heldSeatRefusal, locateLicense } from './license-rules.js';
import type { DevicesPort, LicenseLocator, LicenseMetersPort, ProductLookup } from './ports.js';
import { hasPassed } from './query-forms.js';
import { missingSeatError } from './seat-errors.js';
import { borrowEndOf, featureLeaseOf } from './seat-rules.js';
import type { Device, License, LicenseFeature } from './types.js';

/**
 * One of a floating license feature's slots: slot number `slot` (0 … floatingUsers−1) held by a
 * device until `leaseExpiresAt` (never, when null). Each slot is one document, so a floating feature
 * can never have more holders than slot numbers, a device at most one slot of a feature, and taking,
 * renewing, handing over and releasing a slot are each one atomic write on one document.
 */
export interface FeatureSlot {
  accountId: number;
  licenseId: number;
  featureCode: string;
  slot: number;
  deviceId: number;
  leaseExpiresAt: Date | null;
  borrowedUntil: Date | null;
  updatedAt: Date;
}

/** What a take, renewal or hand-over sets on a slot. */
export type SlotHolding = Pick<FeatureSlot, 'deviceId' | 'leaseExpiresAt' | 'borrowedUntil'>;

/** The slots of floating features, one document each (server/db/feature-slots-repository.ts). */
export interface FeatureSlotsPort {
  /** The slot the device holds of the feature, or null. */
  heldBy(licenseId: number, featureCode: string, deviceId: number): Promise<FeatureSlot | null>;
  /** Every slot of the feature (at most a few more than its floatingUsers). */
  slotsOf(licenseId: number, featureCode: string): Promise<FeatureSlot[]>;
  /** Takes slot number `slot` if nobody holds it: `taken`, `slot_held` (someone does), or `device_holds` (the device holds another one). */
  insert(slot: FeatureSlot): Promise<'taken' | 'slot_held' | 'device_holds'>;
  /**
   * Sets `next` on the slot if it is still as read (`current`: same holder and lease end): a renewal
   * by its holder, or the hand-over of an expired slot to another device. `device_holds` when the
   * new holder holds another slot of the feature meanwhile.
   */
  update(current: FeatureSlot, next: SlotHolding, now: Date): Promise<FeatureSlot | 'changed' | 'device_holds'>;
  /** Gives back the device's slot of the feature; false when it held none. */
  release(licenseId: number, featureCode: string, deviceId: number): Promise<boolean>;
  /** Gives back every slot the device holds on the license (its seat was given back). */
  releaseAll(licenseId: number, deviceId: number): Promise<void>;
}

/** The license's feature `code`; `feature_not_on_license` (a check's: the License API's invalid feature code) when it has none. */
function featureOf(license: License, code: string): LicenseFeature {
  const feature = license.features.find((f) => f.code === code);
  if (!feature) throw new DomainError('feature_not_on_license', `License feature code: ${code} is invalid or not assigned to the license`, { check: true });
  return feature;
}

/** How often a take that lost a race to another device's write is tried again. */
const MAX_TRIES = 20;

export interface FeatureCheck {
  license: License;
  feature: LicenseFeature;
  device: Device;
  /** The device's slot after the check (floating features), or null. */
  slot: FeatureSlot | null;
  /** Devices holding a live slot of the feature (floating features), else null. */
  inUse: number | null;
}

/**
 * Floating license features (License API `check_license_feature`, `floating/feature_release`,
 * `floating/feature_borrow`): a device that holds a live seat on the license takes, renews, borrows
 * and releases one of a floating-cloud feature's `floatingUsers` slots. Only live slots count; an
 * expired one is handed to the next device in one guarded write on its document.
 */
export class FeatureSlotService {
  constructor(
    private readonly slots: FeatureSlotsPort,
    private readonly meters: LicenseMetersPort,
    private readonly products: ProductLookup,
    private readonly devices: Pick<DevicesPort, 'findByHardwareId'>,
    private readonly clock: Clock,
  ) {}

  /** The license, its feature `code` and the device holding a live seat on it (or the refusal, in the order the License API reports it). */
  private async locate(accountId: number, locator: LicenseLocator, hardwareId: string, code: string, licenseId: number | undefined) {
    const license = await locateLicense(this.meters, this.products, accountId, locator, licenseId);
    const now = this.clock.now();
    assertUsable(license, now);
    const device = await this.devices.findByHardwareId(license.id, hardwareId);
    const refusal = heldSeatRefusal(device, license.id, now);
    if (refusal === 'seat_missing') throw missingSeatError(license);
    if (refusal === 'device_blacklisted') throw new DomainError('device_blacklisted', 'This device is blacklisted');
    const feature = featureOf(license, code);
    return { license, feature, device: device!, now };
  }

  /** A check of the feature from the device: on a floating-cloud feature it takes or renews the device's slot. */
  async check(accountId: number, locator: LicenseLocator, hardwareId: string, code: string, licenseId?: number): Promise<FeatureCheck> {
    const { license, feature, device } = await this.locate(accountId, locator, hardwareId, code, licenseId);
    if (!feature.isFloatingCloud) return { license, feature, device, slot: null, inUse: null };
    const slot = await this.hold(license, feature, device.id, null);
    return { license, feature, device, slot, inUse: await this.inUse(license.id, code) };
  }

  /** Borrows the device's slot of the feature until `until` (null: as long as the license allows), taking one first when it holds none. */
  async borrow(accountId: number, locator: LicenseLocator, hardwareId: string, code: string, until: Date | null, licenseId?: number): Promise<{ license: License; device: Device; slot: FeatureSlot }> {
    const { license, feature, device, now } = await this.locate(accountId, locator, hardwareId, code, licenseId);
    if (!feature.isFloatingCloud) throw new DomainError('feature_not_floating', 'License feature is not a floating cloud feature');
    const end = borrowEndOf({ isFloatingCloud: true, canBorrow: license.canBorrow, maxBorrowTime: license.maxBorrowTime }, until, now);
    return { license, device, slot: await this.hold(license, feature, device.id, end) };
  }

  /** Gives the device's slot of the feature back. */
  async release(accountId: number, locator: LicenseLocator, hardwareId: string, code: string, licenseId?: number): Promise<void> {
    const license = await locateLicense(this.meters, this.products, accountId, locator, licenseId);
    const feature = featureOf(license, code);
    if (!feature.isFloatingCloud) throw new DomainError('feature_not_floating', 'License feature is not a floating cloud feature');
    const device = await this.devices.findByHardwareId(license.id, hardwareId);
    const released = device ? await this.slots.release(license.id, code, device.id) : false;
    if (!released) throw new DomainError('feature_slot_not_held', 'The device does not hold a floating slot of this feature');
  }

  /** How many slots of the feature are live now. */
  async inUse(licenseId: number, code: string): Promise<number> {
    const now = this.clock.now();
    return (await this.slots.slotsOf(licenseId, code)).filter((s) => !hasPassed(s.leaseExpiresAt, now)).length;
  }

  /**
   * Takes or renews the device's slot (with a borrow to `borrowUntil` when given): its own slot is
   * renewed (guarded by its lease end as read); else a free slot number is taken, else an expired
   * slot is handed over (guarded by its holder and lease end as read). Refused with
   * `floating_seat_unavailable` only when a fresh read shows every slot live and held by others.
   */
  private async hold(license: License, feature: LicenseFeature, deviceId: number, borrowUntil: Date | null): Promise<FeatureSlot> {
    for (let n = 0; n < MAX_TRIES; n += 1) {
      const now = this.clock.now();
      const own = await this.slots.heldBy(license.id, feature.code, deviceId);
      const borrowedUntil = borrowUntil ?? (own && own.borrowedUntil && !hasPassed(own.borrowedUntil, now) ? own.borrowedUntil : null);
      const next: SlotHolding = { deviceId, leaseExpiresAt: featureLeaseOf(feature, borrowedUntil, now), borrowedUntil };
      if (own) {
        const renewed = await this.slots.update(own, next, now);
        if (typeof renewed !== 'string') return renewed;
        continue;
      }
      const all = await this.slots.slotsOf(license.id, feature.code);
      const numbers = new Set(all.map((s) => s.slot));
      const free = Array.from({ length: feature.floatingUsers }, (_, i) => i).find((i) => !numbers.has(i));
      if (free !== undefined) {
        const slot: FeatureSlot = { accountId: license.accountId, licenseId: license.id, featureCode: feature.code, slot: free, ...next, updatedAt: now };
        if ((await this.slots.insert(slot)) === 'taken') return slot;
        continue;
      }
      const expired = all.filter((s) => s.slot < feature.floatingUsers && hasPassed(s.leaseExpiresAt, now));
      if (expired.length === 0) throw new DomainError('floating_seat_unavailable', 'Every floating slot of the feature is in use', { floatingUsers: feature.floatingUsers });
      const handed = await this.slots.update(expired[n % expired.length]!, next, now);
      if (typeof handed !== 'string') return handed;
    }
    throw new DomainError('concurrent_modification', 'The feature\'s slots changed concurrently too often; retry the request');
  }
}
