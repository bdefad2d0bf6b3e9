import type { EventOutboxEntry } from '../domain/events.js';
import type { Device, Seat } from '../domain/types.js';
import { toLicense, type LicenseDocument } from './license-document.js';
import { licenseLocatorFilter, usableLicenseFilter } from '../domain/license-rules.js';
import type { Models } from './models.js';
import type { License } from '../domain/types.js';
import type { DeviceDetails, DevicesPort } from '../domain/ports.js';
import type { LicenseLocator } from '../domain/ports.js';

interface DeviceDocument extends Omit<Device, 'id'> {
  _id: number;
  outbox?: EventOutboxEntry[];
}

export function toDevice(doc: DeviceDocument): Device {
  const { _id, outbox: _outbox, ...rest } = doc;
  return { id: _id, ...rest, metadata: rest.metadata ?? [] };
}

/**
 * Devices (activations). A device's details live in its own document; whether it holds a seat on its
 * license is the license document's `seats` list, changed atomically together with `timesActivated`.
 */
export class DevicesRepository implements DevicesPort {
  constructor(private readonly models: Models) {}

  /** The device of a license with this hardware id, created (inactive) when missing. */
  async upsert(
    base: Pick<Device, 'accountId' | 'licenseId' | 'productId' | 'hardwareId'>,
    fresh: () => Pick<Device, 'id' | 'activationId'>,
    now: Date,
  ): Promise<Device> {
    // Look first: an existing device needs no upsert (and the embedded engine refuses a `$setOnInsert`
    // of `_id` on a matched document, which MongoDB ignores).
    const existing = await this.findByHardwareId(base.licenseId, base.hardwareId);
    if (existing) return existing;
    const ids = fresh();
    try {
      const doc = await this.models.Device.findOneAndUpdate(
        { licenseId: base.licenseId, hardwareId: base.hardwareId },
        { $setOnInsert: { _id: ids.id, activationId: ids.activationId, ...base, active: false, blacklisted: false, metadata: [], createdAt: now, updatedAt: now } },
        { upsert: true, returnDocument: 'after' },
      ).lean<DeviceDocument>();
      return toDevice(doc!);
    } catch (err) {
      // A concurrent first activation of the same device won the insert (duplicate key, or the
      // embedded engine refusing `$setOnInsert` of `_id` on the matched document): use its device.
      const code = (err as { code?: number } | null)?.code;
      if (code !== 11000 && code !== 66) throw err;
      const raced = await this.findByHardwareId(base.licenseId, base.hardwareId);
      if (!raced) throw err;
      return raced;
    }
  }

  /** Sets details; `events` go into the device's outbox in the same write. */
  async update(accountId: number, deviceId: number, details: DeviceDetails, now: Date, events: EventOutboxEntry[] = []): Promise<Device | null> {
    const update: Record<string, unknown> = { $set: { ...details, updatedAt: now } };
    if (events.length > 0) update.$push = { outbox: { $each: events } };
    const doc = await this.models.Device.findOneAndUpdate({ _id: deviceId, accountId }, update, { returnDocument: 'after', projection: { outbox: 0 } }).lean<DeviceDocument>();
    return doc ? toDevice(doc) : null;
  }

  async findById(accountId: number, deviceId: number): Promise<Device | null> {
    const doc = await this.models.Device.findOne({ _id: deviceId, accountId }).lean<DeviceDocument>();
    return doc ? toDevice(doc) : null;
  }

  async findByActivationId(activationId: string): Promise<Device | null> {
    const doc = await this.models.Device.findOne({ activationId }).lean<DeviceDocument>();
    return doc ? toDevice(doc) : null;
  }

  async findByHardwareId(licenseId: number, hardwareId: string): Promise<Device | null> {
    const doc = await this.models.Device.findOne({ licenseId, hardwareId }).lean<DeviceDocument>();
    return doc ? toDevice(doc) : null;
  }

  async list(accountId: number, filter: Record<string, unknown>, skip: number, limit: number): Promise<{ items: Device[]; count: number }> {
    const query = { ...filter, accountId };
    const [docs, count] = await Promise.all([
      this.models.Device.find(query).sort({ createdAt: 1, _id: 1 }).skip(skip).limit(limit).lean<DeviceDocument[]>(),
      this.models.Device.countDocuments(query),
    ]);
    return { items: docs.map(toDevice), count };
  }

  /**
   * Gives the device a seat if the license is usable and has a free one: one atomic update whose
   * filter checks the limit (`$size` of seats below maxActivations) and that the device has no seat yet.
   */
  async takeSeat(accountId: number, locator: LicenseLocator, seat: Seat, now: Date, events: EventOutboxEntry[] = []): Promise<License | null> {
    const doc = await this.models.License.findOneAndUpdate(
      {
        ...licenseLocatorFilter(accountId, locator),
        ...usableLicenseFilter(now),
        'seats.hardwareId': { $ne: seat.hardwareId },
        $expr: { $lt: [{ $size: '$seats' }, '$maxActivations'] },
      },
      {
        $push: { seats: seat, ...(events.length > 0 ? { outbox: { $each: events } } : {}) },
        $inc: { timesActivated: 1 },
        $set: { updatedAt: now, timeActivated: now },
      },
      { returnDocument: 'after', projection: { outbox: 0 } },
    ).lean<LicenseDocument>();
    return doc ? toLicense(doc) : null;
  }

  /** Sets the blacklisted flag on the device's seat (enforced) and on the device document. */
  async setBlacklisted(accountId: number, deviceId: number, blacklisted: boolean, now: Date): Promise<Device | null> {
    const device = await this.findById(accountId, deviceId);
    if (!device) return null;
    await this.models.License.updateOne(
      { _id: device.licenseId, accountId, 'seats.deviceId': deviceId },
      { $set: { 'seats.$.blacklisted': blacklisted, updatedAt: now } },
    );
    return this.update(accountId, deviceId, { blacklisted }, now);
  }
}
