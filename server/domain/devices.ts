import type { Clock } from './clock.js';
import type { EventOutbox } from './event-outbox.js';
import { DomainError } from './errors.js';
import { missingSeatError } from './seat-errors.js';
import { newActivationId, newNumericId } from './ids.js';
import { verifyPassword } from './passwords.js';
import type { ProductLookup } from './consumption.js';
import { randomUUID } from 'node:crypto';
import type { Device, License, SeatChange } from './types.js';
import type { ActivationSeatsPort, DeviceDetails, DevicesPort, LicenseLocator, LicenseMetersPort, LicensesPort } from './ports.js';
import { completeLedgerEntries } from './ledger-entries.js';
import { assertUsable, floatingUsesOf, locateLicense, retryOnConflict, RETRY } from './license-rules.js';
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
function newSeatChange(op: SeatChange['op']): SeatChange {
  return { id: randomUUID(), op, deadline: new Date(Date.now() + SEAT_CHANGE_WINDOW_MS) };
}

/** Latest lease end a Date can show in every format (9999-12-31T23:59:59Z). */
const LATEST_LEASE_END = Date.UTC(9999, 11, 31, 23, 59, 59);

/** The device fields that reported details set: the given ones, and the lease end a lease duration gives. */
export function deviceDetailsOf(input: ActivationDetails, now: Date): DeviceDetails {
  const details: DeviceDetails = {};
  for (const [name, value] of Object.entries(input)) {
    if (value !== undefined && name !== 'leaseDuration') (details as Record<string, unknown>)[name] = value;
  }
  if (input.leaseDuration !== undefined) {
    details.leaseDuration = input.leaseDuration;
    details.leaseExpiresAt = input.leaseDuration === null ? null : new Date(Math.min(now.getTime() + input.leaseDuration * 1000, LATEST_LEASE_END));
  }
  return details;
}

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
  ) {}

  private async usableLicense(accountId: number, locator: LicenseLocator, password: string | undefined): Promise<License> {
    const license = await locateLicense(this.meters, this.products, accountId, locator);
    if ('username' in locator) {
      const user = license.users.find((u) => u.email === locator.username);
      if (!user || password === undefined || !(await verifyPassword(password, user.passwordHash))) {
        throw new DomainError('license_not_found', 'License user not found or wrong password');
      }
    }
    this.assertUsable(license);
    return license;
  }

  private assertUsable(license: License): void {
    assertUsable(license, this.clock.now());
  }

  /** Activates a device on a license. Re-activating a device that holds a seat is idempotent. */
  async activate(accountId: number, input: ActivateInput): Promise<ActivationResult> {
    let license = await this.usableLicense(accountId, input.license, input.password);
    const now = this.clock.now();
    let device = await this.devices.upsert(
      { accountId, licenseId: license.id, productId: license.productId, hardwareId: input.hardwareId },
      () => ({ id: newNumericId(), activationId: newActivationId() }),
      now,
    );
    const details = deviceDetailsOf(input.details ?? {}, now);
    const created = this.events.entry({ type: 'activation.created', accountId, activationId: device.activationId }, now);
    const taken = await retryOnConflict<Device | null>(async () => {
      if (device.blacklisted) throw new DomainError('device_blacklisted', 'This device is blacklisted');
      if (device.active) return null;
      const change = newSeatChange('take');
      const claimed = await this.devices.beginSeatChange(accountId, device.id, change);
      if (!claimed) {
        device = await this.settledDevice(accountId, device.id);
        return RETRY;
      }
      const updated = await this.seats.take(accountId, license.id, device.id, change, now, [created]);
      if (!updated) {
        await this.devices.endSeatChange(accountId, device.id, change.id, undefined, now);
        const current = await this.meters.find(accountId, { licenseId: license.id });
        if (!current) throw new DomainError('license_not_found', 'License not found');
        this.assertUsable(current);
        if (current.timesActivated >= current.maxActivations) {
          throw new DomainError('activation_limit_reached', 'The license has reached its maximum number of activations', { maxActivations: current.maxActivations });
        }
        license = current;
        device = claimed;
        return RETRY;
      }
      license = updated;
      const active = await this.devices.endSeatChange(accountId, device.id, change.id, true, now, { ...details, lastSyncedAt: now });
      await this.seats.removeSeatEntry(license.id, change.id);
      return active ?? { ...claimed, active: true, seatChange: null };
    });
    const alreadyActive = taken === null;
    if (taken) {
      device = taken;
      await this.events.settle({ licenseId: license.id }, license.id, [created], { license, device });
      return { license, device, alreadyActive };
    }
    // A repeated activation changes only the device document: its `activation.updated` goes into the device's outbox.
    const updatedEvent = this.events.entry({ type: 'activation.updated', accountId, activationId: device.activationId }, now);
    device = (await this.devices.update(accountId, device.id, { ...details, lastSyncedAt: now }, now, [updatedEvent])) ?? device;
    await this.events.settle({ deviceId: device.id }, license.id, [updatedEvent], { license, device });
    return { license, device, alreadyActive };
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
    await this.devices.endSeatChange(device.accountId, device.id, change.id, applied ? change.op === 'take' : undefined, now);
    if (applied) await this.seats.removeSeatEntry(device.licenseId, change.id);
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
    const license = await this.meters.find(device.accountId, { licenseId: device.licenseId });
    if (!license) throw new DomainError('not_found', 'Activation not found');
    return { device, license };
  }

  /** The account's activations, oldest first, optionally of one license. */
  async listActivations(accountId: number, filter: { licenseId?: number }, skip: number, limit: number): Promise<Activation[]> {
    const { items } = await this.devices.list(accountId, { active: true, ...(filter.licenseId !== undefined ? { licenseId: filter.licenseId } : {}) }, skip, limit);
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
    const now = this.clock.now();
    const deviceEvents = onLicense ? [] : [event];
    const updated = (await this.devices.update(license.accountId, device.id, { ...deviceDetailsOf(input.details, now), lastSyncedAt: now }, now, deviceEvents)) ?? device;
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

  /** Frees the device's seat. Returns the license after it; `device_not_found` when it held none. */
  async deactivate(accountId: number, locator: LicenseLocator, hardwareId: string): Promise<{ license: License; device: Device }> {
    const license = await this.meters.find(accountId, locator);
    if (!license) throw new DomainError('license_not_found', 'License not found');
    const device = await this.devices.findByHardwareId(license.id, hardwareId);
    if (!device) throw missingSeatError(license);
    return this.deactivateDevice(accountId, device);
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
    const deleted = this.events.entry({ type: 'activation.deleted', accountId, activationId: device.activationId });
    let current: Device = device;
    return retryOnConflict(async () => {
      const now = this.clock.now();
      if (!current.active && current.seatChange) current = await this.settledDevice(accountId, current.id);
      if (!current.active) throw new DomainError('device_not_found', 'An active device matching the hardware_id not found');
      const change = newSeatChange('release');
      const claimed = await this.devices.beginSeatChange(accountId, current.id, change);
      if (!claimed) {
        current = await this.settledDevice(accountId, current.id);
        return RETRY;
      }
      const license = await this.meters.find(accountId, { licenseId: current.licenseId });
      if (!license) throw new DomainError('license_not_found', 'License not found');
      const result = await this.seats.release(accountId, license.id, current.id, floatingUsesOf(license, current.id), change, now, [deleted]);
      if (!result) {
        await this.devices.endSeatChange(accountId, current.id, change.id, undefined, now);
        current = claimed;
        return RETRY;
      }
      const updated = (await this.devices.endSeatChange(accountId, current.id, change.id, false, now)) ?? { ...claimed, active: false, seatChange: null };
      await this.seats.removeSeatEntry(result.license.id, change.id);
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
