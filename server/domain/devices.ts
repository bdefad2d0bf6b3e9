import type { Clock } from './clock.js';
import type { EventOutbox } from './event-outbox.js';
import { DomainError } from './errors.js';
import { missingSeatError } from './seat-errors.js';
import { newActivationId, newNumericId } from './ids.js';
import { verifyPassword } from './passwords.js';
import type { ProductLookup } from './consumption.js';
import type { Device, License } from './types.js';
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
    if (device.blacklisted) throw new DomainError('device_blacklisted', 'This device is blacklisted');
    const locator = { licenseId: license.id };
    const created = this.events.entry({ type: 'activation.created', accountId, activationId: device.activationId }, now);
    let alreadyActive = false;
    license = await retryOnConflict(async () => {
      if (license.seats.some((s) => s.hardwareId === input.hardwareId)) {
        alreadyActive = true;
        return license;
      }
      const seat = { deviceId: device.id, activationId: device.activationId, hardwareId: input.hardwareId, blacklisted: false, activatedAt: now };
      const updated = await this.devices.takeSeat(accountId, locator, seat, now, created ? [created] : []);
      if (updated) return updated;
      const current = await this.meters.find(accountId, locator);
      if (!current) throw new DomainError('license_not_found', 'License not found');
      this.assertUsable(current);
      if (!current.seats.some((s) => s.hardwareId === input.hardwareId) && current.seats.length >= current.maxActivations) {
        throw new DomainError('activation_limit_reached', 'The license has reached its maximum number of activations', { maxActivations: current.maxActivations });
      }
      license = current;
      return RETRY;
    });
    // A repeated activation changes only the device document: its `activation.updated` goes into the device's outbox.
    const updatedEvent = alreadyActive ? this.events.entry({ type: 'activation.updated', accountId, activationId: device.activationId }, now) : undefined;
    device = (await this.devices.update(accountId, device.id, { ...deviceDetailsOf(input.details ?? {}, now), active: true, lastSyncedAt: now }, now, updatedEvent ? [updatedEvent] : [])) ?? device;
    if (created && !alreadyActive) await this.events.settle({ licenseId: license.id }, license.id, [created], { license, device });
    if (updatedEvent) await this.events.settle({ deviceId: device.id }, license.id, [updatedEvent], { license, device });
    return { license, device, alreadyActive };
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
    const license = await this.meters.find(device.accountId, { licenseId: device.licenseId });
    if (!license || !license.seats.some((s) => s.deviceId === device.id)) throw new DomainError('not_found', 'Activation not found');
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
      return license && license.seats.some((s) => s.deviceId === device.id) ? [{ device, license }] : [];
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

  /** Deactivates an activation (see deactivateDevice). */
  async deactivateActivation(caller: Caller, activationId: string): Promise<Activation> {
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
   * recorded as `release` ledger entries; other uses stay counted; gross never changes. One guarded
   * write (it fails when the uses changed since they were read), retried with a fresh read.
   */
  async deactivateDevice(accountId: number, device: Device): Promise<{ license: License; device: Device }> {
    const deleted = this.events.entry({ type: 'activation.deleted', accountId, activationId: device.activationId });
    return retryOnConflict(async () => {
      const now = this.clock.now();
      const current = await this.meters.find(accountId, { licenseId: device.licenseId });
      if (!current || !current.seats.some((s) => s.deviceId === device.id)) throw new DomainError('device_not_found', 'An active device matching the hardware_id not found');
      const result = await this.seats.release(accountId, current.id, device.id, floatingUsesOf(current, device.id), now, [deleted]);
      if (!result) return RETRY;
      const updated = (await this.devices.update(accountId, device.id, { active: false }, now)) ?? device;
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

  async setBlacklisted(accountId: number, deviceId: number, blacklisted: boolean): Promise<Device> {
    const device = await this.devices.setBlacklisted(accountId, deviceId, blacklisted, this.clock.now());
    if (!device) throw new DomainError('device_not_found', 'Device not found');
    return device;
  }
}
