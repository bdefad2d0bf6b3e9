import type { Clock } from './clock.js';
import type { EventOutbox } from './event-outbox.js';
import { DomainError } from './errors.js';
import { missingSeatError } from './seat-errors.js';
import { newActivationId, newNumericId } from './ids.js';
import type { ProductLookup } from './consumption.js';
import { randomUUID } from 'node:crypto';
import type { Device, License, SeatChange } from './types.js';
import type { ActivationSeatsPort, DeviceDetails, DevicesPort, LicenseLocator, OutboxEntry, LicenseMetersPort, LicensesPort } from './ports.js';
import { completeLedgerEntries } from './ledger-entries.js';
import { assertUsable, floatingUsesOf, heldSeatRefusal, locateLicense, retryOnConflict, RETRY } from './license-rules.js';
import { borrowEndOf, isSeatLive, leaseOf, liveSeatFilter, seatLimitError, seatLimitOf } from './seat-rules.js';
import type { EventOutboxEntry } from './events.js';
import type { FeatureSlotsPort } from './feature-slots.js';
import type { LicenseUserService } from './license-users.js';
import type { MeterAttributeUses, UsesChange } from './meter-attributes.js';

/** Who calls: an account (authenticated by its credentials), or a client that no account vouches for (what it names authenticates it). */
export interface Caller {
  accountId: number | null;
}

/**
 * Machine details a client reports (undefined = unchanged). `leaseDuration`: seconds the activation
 * is leased for from now, or null for no lease end.
 */
export type ActivationDetails = Omit<DeviceDetails, 'active' | 'blacklisted' | 'leaseExpiresAt' | 'lastSyncedAt' | 'updatedAt'>;

export interface ActivateInput {
  license: LicenseLocator;
  /** Required for user-based licenses located by username. */
  password?: string | undefined;
  hardwareId: string;
  details?: ActivationDetails | undefined;
}

/**
 * A license as a client names it by product id and key. An id the client sent that cannot be an id is
 * null: it names nothing (and so matches nothing).
 */
export interface LicenseKeyCredentials {
  productId: number | null;
  key: string;
  /** The account the client says the license is of; undefined when it says none. */
  accountId?: number | null | undefined;
}

export interface KeyActivationInput extends LicenseKeyCredentials {
  /** The machine's fingerprint (its hardware id). */
  fingerprint: string;
  details: ActivationDetails;
}

export interface UpdateActivationInput extends LicenseKeyCredentials {
  fingerprint: string;
  details: ActivationDetails;
  /** Changes to this activation's meter attribute uses, applied all or nothing before the details. */
  usesChanges: UsesChange[];
  requestId?: string | undefined;
}

/** An active device (a device holding a seat) with its license. */
export interface Activation {
  device: Device;
  license: License;
}

/** How long the license write of a seat change may take to reach the database (its deadline, database clock). */
export const SEAT_CHANGE_WINDOW_MS = 5_000;
/** How long after its deadline a seat change in flight is taken as left behind by a crash (clocks of several nodes). */
export const SEAT_CHANGE_MARGIN_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A new seat change, its deadline in physical time (the database compares it with its own clock). */
function newSeatChange(op: SeatChange['op'], leaseDuration?: number | null): SeatChange {
  return { id: randomUUID(), op, deadline: new Date(Date.now() + SEAT_CHANGE_WINDOW_MS), ...(leaseDuration !== undefined ? { leaseDuration } : {}) };
}

/**
 * The device fields that reported details set (the given ones; the lease is leaseOf's, see
 * seat-rules.ts). Metadata keys are unique per activation: a key listed twice is refused.
 */
export function deviceDetailsOf(input: ActivationDetails): DeviceDetails {
  const keys = new Set<string>();
  for (const { key } of input.metadata ?? []) {
    if (keys.has(key)) throw new DomainError('invalid_input', `Metadata key "${key}" is listed twice`, { field: 'metadata' });
    keys.add(key);
  }
  const details: DeviceDetails = {};
  for (const [name, value] of Object.entries(input)) {
    if (value !== undefined && name !== 'leaseDuration') (details as Record<string, unknown>)[name] = value;
  }
  return details;
}

/** What a deactivation does first, on the device whose release it has claimed (see DeviceService.deactivate). */
export type BeforeRelease = (device: Device) => Promise<void>;

/** The seat a take gives another device's place (see DeviceService.takeSeat). */
interface Reclaimed {
  device: Device;
  change: SeatChange;
  deleted: EventOutboxEntry;
}

/** How many expired seats one take looks at before it gives up and retries from the start. */
const MAX_RECLAIMS = 20;

export interface ActivationResult {
  license: License;
  device: Device;
  /** The device already held a seat: nothing was counted. */
  alreadyActive: boolean;
}

/**
 * The seats of licenses, for every dialect: binding devices to licenses (activations) within each
 * license's activation limit, finding, updating, deactivating and blacklisting them.
 *
 * A seat is a device document that is `active`; the license counts them in `timesActivated`. A seat
 * change is three writes (README, Database): the device takes a `seatChange` (so concurrent changes
 * of one device count once), the guarded license write takes or releases the seat before the change's
 * deadline and keeps a `seat` entry in its outbox, then the device follows and the entry is removed.
 * `repairSeatChanges` finishes or drops what a crash left between them.
 */
export class DeviceService {
  constructor(
    private readonly devices: DevicesPort,
    private readonly meters: LicenseMetersPort,
    private readonly products: ProductLookup,
    private readonly clock: Clock,
    private readonly seats: ActivationSeatsPort,
    private readonly events: EventOutbox,
    private readonly licenses: Pick<LicensesPort, 'findByProductAndKey'>,
    private readonly meterUses: MeterAttributeUses,
    /** The device's slots of floating features go when its seat goes. */
    private readonly featureSlots?: Pick<FeatureSlotsPort, 'releaseAll'>,
    /** Logs in the users of user-based licenses (without it, no username is accepted). */
    private readonly userLogins?: Pick<LicenseUserService, 'authenticate'>,
  ) {}

  private async usableLicense(accountId: number, locator: LicenseLocator, password: string | undefined): Promise<License> {
    const license = await locateLicense(this.meters, this.products, accountId, locator);
    if ('username' in locator) {
      if (!(await this.userLogins?.authenticate(accountId, license, locator.username, password))) {
        throw new DomainError('license_not_found', 'License user not found or wrong password');
      }
    }
    this.assertUsable(license);
    return license;
  }

  private assertUsable(license: License): void {
    assertUsable(license, this.clock.now());
  }

  /**
   * Activates a device on a license: takes a seat (in the place of an expired one when the license is
   * full, see takeSeat), leased per leaseOf. Re-activating a device that holds a seat renews it.
   */
  async activate(accountId: number, input: ActivateInput): Promise<ActivationResult> {
    const details = deviceDetailsOf(input.details ?? {});
    let license = await this.usableLicense(accountId, input.license, input.password);
    const now = this.clock.now();
    let device = await this.devices.upsert(
      { accountId, licenseId: license.id, productId: license.productId, hardwareId: input.hardwareId },
      () => ({ id: newNumericId(), activationId: newActivationId() }),
      now,
    );
    const requested = input.details?.leaseDuration;
    const created = this.events.entry({ type: 'activation.created', accountId, activationId: device.activationId }, now);
    const taken = await retryOnConflict<{ device: Device; reclaimed: Reclaimed | null; pending: OutboxEntry[] } | null>(async () => {
      if (device.blacklisted) throw new DomainError('device_blacklisted', 'This device is blacklisted');
      if (device.active) return null;
      const change = newSeatChange('take', requested);
      const claimed = await this.devices.beginSeatChange(accountId, device.id, change);
      if (!claimed) {
        device = await this.settledDevice(accountId, device.id);
        return RETRY;
      }
      let result: Awaited<ReturnType<DeviceService['takeSeat']>>;
      try {
        result = await this.takeSeat(accountId, license, claimed, change, [created]);
      } catch (err) {
        await this.devices.endSeatChange(accountId, device.id, change.id, undefined, now);
        throw err;
      }
      if (!result) {
        await this.devices.endSeatChange(accountId, device.id, change.id, undefined, now);
        license = (await this.meters.find(accountId, { licenseId: license.id })) ?? license;
        device = claimed;
        return RETRY;
      }
      license = result.license;
      const lease = leaseOf(license, { ...claimed, borrowedUntil: null }, requested, now);
      const active = await this.devices.endSeatChange(accountId, device.id, change.id, true, now, { ...details, ...lease, borrowedUntil: null, lastSyncedAt: now });
      await this.seats.removeSeatEntry(license.id, change.id);
      if (result.reclaimed) {
        const { device: old, change: release } = result.reclaimed;
        await this.endRelease(accountId, license.id, old.id, release.id, now);
      }
      return { device: active ?? { ...claimed, active: true, seatChange: null, ...lease }, reclaimed: result.reclaimed, pending: result.pending };
    });
    if (taken) {
      device = taken.device;
      const entries = taken.reclaimed ? [created, taken.reclaimed.deleted] : [created];
      await this.events.settle({ licenseId: license.id }, license.id, entries, { license, device }, completeLedgerEntries(license, taken.pending));
      return { license, device, alreadyActive: false };
    }
    // A repeated activation renews the seat on the device document: its `activation.updated` goes into the device's outbox.
    const updatedEvent = this.events.entry({ type: 'activation.updated', accountId, activationId: device.activationId }, now);
    const renewed = await this.renewSeat(accountId, license, device, requested, details, [updatedEvent]);
    if (!renewed) return this.activate(accountId, input);
    await this.events.settle({ deviceId: renewed.id }, license.id, [updatedEvent], { license, device: renewed });
    return { license, device: renewed, alreadyActive: true };
  }

  /**
   * The license write of a take: a free seat (`timesActivated < seatLimitOf`), or, when the license is
   * full, the place of an expired seat (expiredSeatFilter), released in the same write: its device
   * takes a release change guarded by its lease end as read (a renewal in between makes it match
   * nothing, and the next expired seat is tried). Null when the write lost a race (the caller retries);
   * throws the limit error when the license is full of live seats.
   */
  private async takeSeat(accountId: number, license: License, claimed: Device, change: SeatChange, events: EventOutboxEntry[]): Promise<{ license: License; pending: OutboxEntry[]; reclaimed: Reclaimed | null } | null> {
    const now = this.clock.now();
    const taken = await this.seats.take(accountId, license.id, claimed.id, change, now, events);
    if (taken) return { ...taken, reclaimed: null };
    for (let n = 0; n < MAX_RECLAIMS; n += 1) {
      const current = await this.meters.find(accountId, { licenseId: license.id });
      if (!current) throw new DomainError('license_not_found', 'License not found');
      this.assertUsable(current);
      if (current.timesActivated < seatLimitOf(current)) return null;
      const expired = await this.devices.findExpiredSeat(license.id, now);
      if (!expired) throw seatLimitError(current);
      const release = newSeatChange('release');
      const old = await this.devices.beginSeatChange(accountId, expired.id, release, expired.leaseExpiresAt!);
      if (!old) continue;
      const deleted = this.events.entry({ type: 'activation.deleted', accountId, activationId: old.activationId }, now);
      const swapped = await this.seats.take(accountId, license.id, claimed.id, change, now, [...events, deleted], { deviceId: old.id, change: release, floating: floatingUsesOf(current, old.id) });
      if (swapped) return { ...swapped, reclaimed: { device: old, change: release, deleted } };
      await this.devices.endSeatChange(accountId, old.id, release.id, undefined, now);
      return null;
    }
    return null;
  }

  /**
   * Renews the seat the device holds (a repeated activation, a check, a sync): its lease per leaseOf
   * from now, and `details`. Guarded by the lease end as read, so it never races a reclaim into a live
   * seat beyond the limit (a seat still counted may be renewed even after its end). `borrowedUntil`:
   * the borrow this renewal starts. Null when the device no longer holds the seat.
   */
  private async renewSeat(
    accountId: number,
    license: License,
    device: Device,
    requested: number | null | undefined,
    details: DeviceDetails,
    events: EventOutboxEntry[] = [],
    borrowedUntil?: Date,
  ): Promise<Device | null> {
    let current = device;
    return retryOnConflict(async () => {
      if (!current.active) return null;
      if (current.seatChange) {
        current = await this.settledDevice(accountId, current.id);
        return RETRY;
      }
      const now = this.clock.now();
      const lease = leaseOf(license, borrowedUntil ? { ...current, borrowedUntil } : current, requested, now);
      const borrow = borrowedUntil ? { borrowedUntil } : {};
      const renewed = await this.devices.renewSeat(accountId, current.id, current.leaseExpiresAt, { ...details, ...lease, ...borrow, lastSyncedAt: now }, now, events);
      if (renewed) return renewed;
      const fresh = await this.devices.findById(accountId, current.id);
      if (!fresh) return null;
      current = fresh;
      return RETRY;
    });
  }

  /**
   * A License API check of the device's seat. On a floating-cloud license it takes a seat when the
   * device holds none (its seat was released, or given to another device after it expired) and
   * renews the one it holds; on any other license the device must hold a live seat
   * (`license_inactive` / `device_not_found` / `device_blacklisted`). Returns the license after it.
   */
  async checkIn(accountId: number, license: License, hardwareId: string): Promise<{ license: License; device: Device }> {
    const now = this.clock.now();
    const device = await this.devices.findByHardwareId(license.id, hardwareId);
    if (device?.blacklisted) throw new DomainError('device_blacklisted', 'This device is blacklisted');
    if (!license.isFloatingCloud) {
      if (heldSeatRefusal(device, license.id, now) !== null) throw missingSeatError(license);
      return { license, device: device! };
    }
    if (device?.active || device?.seatChange) {
      const renewed = await this.renewSeat(accountId, license, device, undefined, {});
      if (renewed) return { license, device: renewed };
    }
    const result = await this.activate(accountId, { license: { licenseId: license.id }, hardwareId });
    return { license: result.license, device: result.device };
  }

  /**
   * Borrows the device's floating seat until `until` (null: as long as the license allows; see
   * borrowEndOf): takes the seat first when it holds none, then holds it until the borrow ends
   * (leaseOf never ends a lease before it).
   */
  async borrow(accountId: number, locator: LicenseLocator, hardwareId: string, until: Date | null, licenseId?: number): Promise<{ license: License; device: Device }> {
    const license = await locateLicense(this.meters, this.products, accountId, locator, licenseId);
    this.assertUsable(license);
    const end = borrowEndOf(license, until, this.clock.now());
    return retryOnConflict(async () => {
      const held = await this.checkIn(accountId, license, hardwareId);
      const borrowed = await this.renewSeat(accountId, held.license, held.device, undefined, {}, [], end);
      return borrowed ? { license: held.license, device: borrowed } : RETRY;
    });
  }

  /** Gives the device's floating seat back (License API `floating/release`); `license_not_floating` on other licenses. */
  async releaseFloating(accountId: number, locator: LicenseLocator, hardwareId: string, licenseId?: number): Promise<{ license: License; device: Device }> {
    const license = await locateLicense(this.meters, this.products, accountId, locator, licenseId);
    if (!license.isFloatingCloud) throw new DomainError('license_not_floating', 'The license is not a floating cloud license');
    return this.deactivate(accountId, { licenseId: license.id }, hardwareId);
  }

  /** How many of the license's seats are live now (`floating_in_use_devices`). */
  async liveSeats(license: License): Promise<number> {
    return this.devices.countLiveSeats(license.id, this.clock.now());
  }

  /**
   * The device once no other seat change of it is in flight: waits for a running one to end, and
   * finishes or drops one left behind (its deadline passed: see finishSeatChange).
   */
  private async settledDevice(accountId: number, deviceId: number): Promise<Device> {
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const device = await this.devices.findById(accountId, deviceId);
      if (!device) throw new DomainError('device_not_found', 'Device not found');
      if (!device.seatChange) return device;
      if (device.seatChange.deadline.getTime() + SEAT_CHANGE_MARGIN_MS < Date.now()) await this.finishSeatChange(device, device.seatChange);
      else await sleep(wait);
    }
  }

  /**
   * Finishes a seat change whose deadline has passed: if its license write applied (its `seat` entry is
   * in the license's outbox) the device follows, else (it never applied, and no longer can) the change
   * is dropped. Then the entry is removed.
   */
  private async finishSeatChange(device: Device, change: SeatChange): Promise<void> {
    const now = this.clock.now();
    const applied = await this.seats.hasSeatEntry(device.licenseId, change.id);
    // A take that applied gets its lease as the request would have given it (from now, by the license's and the device's setting).
    if (applied && change.op === 'release') {
      await this.endRelease(device.accountId, device.licenseId, device.id, change.id, now);
      return;
    }
    const license = applied ? await this.meters.find(device.accountId, { licenseId: device.licenseId }) : null;
    const details: DeviceDetails = license ? { ...leaseOf(license, { ...device, borrowedUntil: null }, change.leaseDuration, now), borrowedUntil: null } : {};
    await this.devices.endSeatChange(device.accountId, device.id, change.id, applied ? true : undefined, now, details);
    if (applied) await this.seats.removeSeatEntry(device.licenseId, change.id);
  }

  /**
   * The device's side of a release whose license write applied, for every path (deactivation, a seat
   * handed to another device, the repair): the device follows (inactive, borrow ended), the `seat`
   * entry goes, and so do its slots of floating features. Returns the device after it.
   */
  private async endRelease(accountId: number, licenseId: number, deviceId: number, changeId: string, now: Date): Promise<Device | null> {
    const device = await this.devices.endSeatChange(accountId, deviceId, changeId, false, now, { borrowedUntil: null });
    await this.seats.removeSeatEntry(licenseId, changeId);
    await this.featureSlots?.releaseAll(licenseId, deviceId);
    return device;
  }

  /**
   * The repair of seat changes a crash left between their writes: devices whose change's deadline
   * passed (finished or dropped, see finishSeatChange), and `seat` entries older than `olderThan` whose
   * device already followed (removed). Returns how many it repaired.
   */
  async repairSeatChanges(olderThan: Date, limit = 200): Promise<number> {
    let repaired = 0;
    for (const device of await this.devices.staleSeatChanges(new Date(Date.now() - SEAT_CHANGE_MARGIN_MS), limit)) {
      if (device.seatChange) await this.finishSeatChange(device, device.seatChange);
      repaired += 1;
    }
    repaired += await this.reclaimExpiredSeats(limit);
    for (const entry of await this.seats.strandedSeatEntries(olderThan, limit)) {
      const device = await this.devices.findById(entry.accountId, entry.deviceId);
      if (device?.seatChange?.id === entry.id) {
        await this.finishSeatChange(device, device.seatChange);
      } else {
        await this.seats.removeSeatEntry(entry.licenseId, entry.id);
      }
      repaired += 1;
    }
    return repaired;
  }

  /** The license a client names by product id and key (within the caller's account when it has one). */
  private async licenseByKey(caller: Caller, credentials: LicenseKeyCredentials): Promise<License> {
    const license = credentials.productId === null ? null : await this.licenses.findByProductAndKey(credentials.productId, credentials.key, caller.accountId ?? undefined);
    if (!license) throw new DomainError('license_not_found', 'The license key is invalid for this product');
    if (credentials.accountId !== undefined && credentials.accountId !== license.accountId) throw new DomainError('not_found', 'Account not found');
    return license;
  }

  /** Activates the license a client names by product id and key on its machine (idempotent per fingerprint). */
  async activateByKey(caller: Caller, input: KeyActivationInput): Promise<ActivationResult> {
    const license = await this.licenseByKey(caller, input);
    return this.activate(license.accountId, { license: { licenseId: license.id }, hardwareId: input.fingerprint, details: input.details });
  }

  /** The activation (a device holding a seat) of an activation id; another account's or a deactivated one is `not_found`. */
  async findActivation(caller: Caller, activationId: string): Promise<Activation> {
    const device = await this.devices.findByActivationId(activationId);
    if (!device || (caller.accountId !== null && device.accountId !== caller.accountId)) throw new DomainError('not_found', 'Activation not found');
    if (!device.active) throw new DomainError('not_found', 'Activation not found');
    if (!isSeatLive(device, this.clock.now())) {
      // Its lease ended: it no longer exists for the client, and its seat is given back now.
      if (!device.seatChange) await this.reclaimExpiredSeat(device);
      throw new DomainError('not_found', 'Activation not found');
    }
    const license = await this.meters.find(device.accountId, { licenseId: device.licenseId });
    if (!license) throw new DomainError('not_found', 'Activation not found');
    return { device, license };
  }

  /** The account's activations, oldest first, optionally of one license. */
  async listActivations(accountId: number, filter: { licenseId?: number }, skip: number, limit: number): Promise<Activation[]> {
    const { items } = await this.devices.list(accountId, { ...liveSeatFilter(this.clock.now()), ...(filter.licenseId !== undefined ? { licenseId: filter.licenseId } : {}) }, skip, limit);
    const licenses = new Map<number, License>();
    for (const id of new Set(items.map((d) => d.licenseId))) {
      const license = await this.meters.find(accountId, { licenseId: id });
      if (license) licenses.set(id, license);
    }
    return items.flatMap((device) => {
      const license = licenses.get(device.licenseId);
      return license ? [{ device, license }] : [];
    });
  }

  /**
   * Updates an activation: the license key and product must be the activation's, the fingerprint
   * its own. Meter attribute changes apply all or nothing, before any detail changes.
   */
  async updateActivation(caller: Caller, activationId: string, input: UpdateActivationInput): Promise<Activation> {
    const details = deviceDetailsOf(input.details);
    const { device, license } = await this.findActivation(caller, activationId);
    if (input.productId !== license.productId || input.key !== license.key) {
      throw new DomainError('license_not_found', 'The license key is invalid for this activation');
    }
    if (input.accountId !== undefined && input.accountId !== license.accountId) throw new DomainError('not_found', 'Account not found');
    assertUsable(license, this.clock.now(), 'The license has been revoked');
    if (input.fingerprint !== device.hardwareId) throw new DomainError('fingerprint_mismatch', 'The machine fingerprint differs from the activation\'s');
    let current = license;
    // One `activation.updated`, recorded with the first write: the license's (with the meter
    // attribute changes) when uses change, else the device's (details only).
    const event = this.events.entry({ type: 'activation.updated', accountId: license.accountId, activationId });
    const onLicense = input.usesChanges.some((m) => m.amount !== 0);
    if (input.usesChanges.length > 0) {
      current = await this.meterUses.change({
        accountId: license.accountId,
        licenseId: license.id,
        activationId,
        deviceId: device.id,
        changes: input.usesChanges,
        requestId: input.requestId,
        ...(onLicense ? { events: [event] } : {}),
      });
    }
    const deviceEvents = onLicense ? [] : [event];
    // The sync renews the lease (leaseOf); a seat given back meanwhile is gone for the client.
    const updated = await this.renewSeat(license.accountId, license, device, input.details.leaseDuration, details, deviceEvents);
    if (!updated) throw new DomainError('not_found', 'Activation not found');
    await this.events.settle(onLicense ? { licenseId: license.id } : { deviceId: device.id }, license.id, [event], { license: current, device: updated });
    return { device: updated, license: current };
  }

  /** Deactivates an activation (see deactivateDevice); a seat change of it in flight ends first. */
  async deactivateActivation(caller: Caller, activationId: string): Promise<Activation> {
    const pending = await this.devices.findByActivationId(activationId);
    if (pending?.seatChange && (caller.accountId === null || pending.accountId === caller.accountId)) await this.settledDevice(pending.accountId, pending.id);
    const { device, license } = await this.findActivation(caller, activationId);
    return this.deactivateDevice(license.accountId, device);
  }

  /**
   * Frees the device's seat. Returns the license after it; `device_not_found` when it held none.
   * `beforeRelease` (see releaseSeat) runs once, while the device's release is claimed and before the
   * seat is freed: when it throws, the device keeps its seat and the error is the answer.
   */
  async deactivate(accountId: number, locator: LicenseLocator, hardwareId: string, beforeRelease?: BeforeRelease): Promise<{ license: License; device: Device }> {
    const license = await this.meters.find(accountId, locator);
    if (!license) throw new DomainError('license_not_found', 'License not found');
    const device = await this.devices.findByHardwareId(license.id, hardwareId);
    if (!device) throw missingSeatError(license);
    return (await this.releaseSeat(accountId, device, undefined, beforeRelease))!;
  }

  /**
   * Frees the device's seat, for every dialect (License API deactivation, Web API v3 activation
   * deletion): uses of floating meters (the feature or the license floats) go back to the license total,
   * recorded as `release` ledger entries; other uses stay counted; gross never changes. A seat change
   * (see the class comment) whose license write is guarded by the uses as read, retried with a fresh
   * read when they changed. A device that is not active but has a seat change in flight (an activation
   * under way, or one a crash cut off after its license write) is answered only once that change has
   * ended: otherwise `device_not_found` could be answered for a machine that then holds a seat.
   */
  async deactivateDevice(accountId: number, device: Device): Promise<{ license: License; device: Device }> {
    return (await this.releaseSeat(accountId, device))!;
  }

  /**
   * Gives back the seat of a device whose lease ended (see seat-rules.ts), guarded by its lease end
   * as read: a renewal or another reclaim first makes it give back nothing (false). Raises
   * `activation.deleted`, as a deactivation does.
   */
  async reclaimExpiredSeat(device: Device): Promise<boolean> {
    if (device.leaseExpiresAt === null || isSeatLive(device, this.clock.now())) return false;
    return (await this.releaseSeat(device.accountId, device, device.leaseExpiresAt)) !== null;
  }

  /**
   * The sweep: gives back seats whose lease ended (reclaimExpiredSeat) so their events are raised and
   * the counts are tidy. Correctness does not depend on it: a take reclaims expired seats itself.
   */
  async reclaimExpiredSeats(limit = 200): Promise<number> {
    let reclaimed = 0;
    for (const device of await this.devices.expiredSeats(this.clock.now(), limit)) {
      if (await this.reclaimExpiredSeat(device)) reclaimed += 1;
    }
    return reclaimed;
  }

  /**
   * The release of deactivateDevice; with `expiredAt`, only of a seat whose lease end is still that one
   * (else null). `beforeRelease` runs once, after the device's release change is claimed (so no other
   * seat change of the device runs meanwhile: a concurrent deactivation waits for this one) and before
   * the license is read for its guarded write; when it throws, the change is dropped and the seat stays.
   */
  private async releaseSeat(accountId: number, device: Device, expiredAt?: Date, beforeRelease?: BeforeRelease): Promise<{ license: License; device: Device } | null> {
    const deleted = this.events.entry({ type: 'activation.deleted', accountId, activationId: device.activationId });
    let current: Device = device;
    let before = beforeRelease;
    return retryOnConflict(async () => {
      const now = this.clock.now();
      if (!current.active && current.seatChange && expiredAt === undefined) current = await this.settledDevice(accountId, current.id);
      if (!current.active) {
        if (expiredAt !== undefined) return null;
        throw new DomainError('device_not_found', 'An active device matching the hardware_id not found');
      }
      const change = newSeatChange('release');
      const claimed = await this.devices.beginSeatChange(accountId, current.id, change, expiredAt);
      if (!claimed) {
        if (expiredAt !== undefined) return null;
        current = await this.settledDevice(accountId, current.id);
        return RETRY;
      }
      if (before) {
        try {
          await before(claimed);
        } catch (err) {
          await this.devices.endSeatChange(accountId, current.id, change.id, undefined, now);
          throw err;
        }
        before = undefined;
      }
      const license = await this.meters.find(accountId, { licenseId: current.licenseId });
      if (!license) throw new DomainError('license_not_found', 'License not found');
      const result = await this.seats.release(accountId, license.id, current.id, floatingUsesOf(license, current.id), change, now, [deleted]);
      if (!result) {
        await this.devices.endSeatChange(accountId, current.id, change.id, undefined, now);
        current = claimed;
        return RETRY;
      }
      const updated = (await this.endRelease(accountId, result.license.id, current.id, change.id, now)) ?? { ...claimed, active: false, seatChange: null };
      await this.events.settle({ licenseId: result.license.id }, result.license.id, [deleted], { license: result.license, device: updated }, completeLedgerEntries(result.license, result.pending));
      return { license: result.license, device: updated };
    });
  }

  async getDevice(accountId: number, deviceId: number): Promise<Device> {
    const device = await this.devices.findById(accountId, deviceId);
    if (!device) throw new DomainError('device_not_found', 'Device not found');
    return device;
  }

  async listDevices(accountId: number, filter: { licenseId?: number }, skip: number, limit: number) {
    return this.devices.list(accountId, filter.licenseId !== undefined ? { licenseId: filter.licenseId } : {}, skip, limit);
  }

  /** Sets the device's blacklisted flag; blacklisting takes its seat away from writes through it (the seat epoch is raised after the flag is set). */
  async setBlacklisted(accountId: number, deviceId: number, blacklisted: boolean): Promise<Device> {
    const now = this.clock.now();
    const device = await this.devices.setBlacklisted(accountId, deviceId, blacklisted, now);
    if (!device) throw new DomainError('device_not_found', 'Device not found');
    if (blacklisted) await this.seats.raiseSeatEpoch(accountId, device.licenseId, now);
    return device;
  }
}
