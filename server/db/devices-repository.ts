import type { EventOutboxEntry } from '../domain/events.js';
import type { Device, SeatChange } from '../domain/types.js';
import type { Models } from './models.js';
import type { DeviceDetails, DevicesPort } from '../domain/ports.js';
import { expiredSeatFilter, liveSeatFilter } from '../domain/seat-rules.js';

interface DeviceDocument extends Omit<Device, 'id'> {
  _id: number;
  outbox?: EventOutboxEntry[];
}

export function toDevice(doc: DeviceDocument): Device {
  const { _id, outbox: _outbox, ...rest } = doc;
  return { id: _id, ...rest, seatChange: rest.seatChange ?? null, metadata: rest.metadata ?? [], leaseExpiresAt: rest.leaseExpiresAt ?? null, borrowedUntil: rest.borrowedUntil ?? null };
}

/**
 * Devices (activations): a device's details and whether it holds a seat on its license (`active`),
 * changed through seat changes (`seatChange`) together with the license's `timesActivated` (see
 * domain/devices.ts).
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
        { $setOnInsert: { _id: ids.id, activationId: ids.activationId, ...base, active: false, blacklisted: false, seatChange: null, metadata: [], createdAt: now, updatedAt: now } },
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

  /** Sets the device's blacklisted flag (the seat service raises the license's seat epoch after it). */
  async setBlacklisted(accountId: number, deviceId: number, blacklisted: boolean, now: Date): Promise<Device | null> {
    return this.update(accountId, deviceId, { blacklisted }, now);
  }

  async beginSeatChange(accountId: number, deviceId: number, change: SeatChange, expiredAt?: Date): Promise<Device | null> {
    const state = change.op === 'take' ? { active: false, blacklisted: false } : { active: true, ...(expiredAt !== undefined ? { leaseExpiresAt: expiredAt } : {}) };
    const doc = await this.models.Device.collection.findOneAndUpdate(
      { _id: deviceId, accountId, ...state, seatChange: null } as never,
      { $set: { seatChange: change } } as never,
      { returnDocument: 'after', projection: { outbox: 0 } },
    );
    return doc ? toDevice(doc as unknown as DeviceDocument) : null;
  }

  async endSeatChange(accountId: number, deviceId: number, changeId: string, active: boolean | undefined, now: Date, details: DeviceDetails = {}): Promise<Device | null> {
    const set: Record<string, unknown> = { ...details, seatChange: null, updatedAt: now };
    if (active !== undefined) set.active = active;
    const doc = await this.models.Device.collection.findOneAndUpdate({ _id: deviceId, accountId, 'seatChange.id': changeId } as never, { $set: set } as never, {
      returnDocument: 'after',
      projection: { outbox: 0 },
    });
    return doc ? toDevice(doc as unknown as DeviceDocument) : null;
  }

  async staleSeatChanges(before: Date, limit: number): Promise<Device[]> {
    const docs = await this.models.Device.collection.find({ 'seatChange.deadline': { $lt: before } } as never, { projection: { outbox: 0 }, limit }).toArray();
    return (docs as unknown as DeviceDocument[]).map(toDevice);
  }

  async findExpiredSeat(licenseId: number, now: Date): Promise<Device | null> {
    const doc = await this.models.Device.collection.findOne(expiredSeatFilter(now, licenseId) as never, { sort: { leaseExpiresAt: 1 }, projection: { outbox: 0 } });
    return doc ? toDevice(doc as unknown as DeviceDocument) : null;
  }

  async expiredSeats(now: Date, limit: number): Promise<Device[]> {
    const docs = await this.models.Device.collection.find(expiredSeatFilter(now) as never, { projection: { outbox: 0 }, limit }).toArray();
    return (docs as unknown as DeviceDocument[]).map(toDevice);
  }

  async countLiveSeats(licenseId: number, now: Date): Promise<number> {
    return this.models.Device.collection.countDocuments({ licenseId, ...liveSeatFilter(now) } as never);
  }

  async syncSeat(accountId: number, deviceId: number, now: Date): Promise<Device | null> {
    const doc = await this.models.Device.collection.findOneAndUpdate({ _id: deviceId, accountId, active: true } as never, { $max: { updatedAt: now, lastSyncedAt: now } } as never, {
      returnDocument: 'after',
      projection: { outbox: 0 },
    });
    return doc ? toDevice(doc as unknown as DeviceDocument) : null;
  }

  async renewSeat(accountId: number, deviceId: number, leaseAsRead: Date | null, details: DeviceDetails, now: Date, events: EventOutboxEntry[] = []): Promise<Device | null> {
    const update: Record<string, unknown> = { $set: { ...details, updatedAt: now } };
    if (events.length > 0) update.$push = { outbox: { $each: events } };
    const doc = await this.models.Device.collection.findOneAndUpdate(
      { _id: deviceId, accountId, active: true, seatChange: null, leaseExpiresAt: leaseAsRead } as never,
      update as never,
      { returnDocument: 'after', projection: { outbox: 0 } },
    );
    return doc ? toDevice(doc as unknown as DeviceDocument) : null;
  }
}
