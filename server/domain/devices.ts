import type { Clock } from './clock.js';
import type { EventOutbox } from './event-outbox.js';
import { DomainError } from './errors.js';
import { missingSeatError } from './seat-errors.js';
import { newActivationId, newNumericId } from './ids.js';
import { verifyPassword } from './passwords.js';
import type { ProductLookup } from './consumption.js';
import type { Device, License } from './types.js';
import type { ActivationSeatsPort, DeviceDetails, DevicesPort, LicenseLocator, LicenseMetersPort } from './ports.js';
import { completeLedgerEntries } from './ledger-entries.js';
import { assertUsable, floatingUsesOf, locateLicense, retryOnConflict, RETRY } from './license-rules.js';

export interface ActivateInput {
  license: LicenseLocator;
  /** Required for user-based licenses located by username. */
  password?: string | undefined;
  hardwareId: string;
  details?: DeviceDetails | undefined;
}

export interface ActivationResult {
  license: License;
  device: Device;
  /** The device already held a seat: nothing was counted. */
  alreadyActive: boolean;
}

/** Binding devices to licenses (activations), within each license's activation limit. */
export class DeviceService {
  constructor(
    private readonly devices: DevicesPort,
    private readonly meters: LicenseMetersPort,
    private readonly products: ProductLookup,
    private readonly clock: Clock,
    private readonly seats: ActivationSeatsPort,
    private readonly events: EventOutbox,
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
    device = (await this.devices.update(accountId, device.id, { ...(input.details ?? {}), active: true, lastSyncedAt: now }, now, updatedEvent ? [updatedEvent] : [])) ?? device;
    if (created && !alreadyActive) await this.events.settle({ licenseId: license.id }, license.id, [created], { license, device });
    if (updatedEvent) await this.events.settle({ deviceId: device.id }, license.id, [updatedEvent], { license, device });
    return { license, device, alreadyActive };
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
