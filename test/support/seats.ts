/**
 * Seats in bulk, for the tests of licenses with thousands of activations: activating them one by one
 * through the seat service would take minutes. This is the one place that knows how a seat is
 * stored; every test that needs many seats goes through it and then uses only the public APIs.
 */
import type { Database } from '../../server/db/connection.js';
import { newActivationId, newNumericId } from '../../server/domain/ids.js';
import type { License } from '../../server/domain/types.js';

export interface SeededSeat {
  deviceId: number;
  activationId: string;
  hardwareId: string;
}

/**
 * Gives `count` new devices (hardware ids `<prefix>-0` … `<prefix>-<count-1>`) a seat on the
 * license, as the activation use case leaves them: an active device document each, the seats on the
 * license and its activation count raised by `count`, in one write that matches only while the
 * license has that many free seats (it throws otherwise, changing nothing on the license).
 */
export async function seedSeats(db: Pick<Database, 'models'>, license: Pick<License, 'id' | 'accountId' | 'productId'>, count: number, prefix = 'seeded-hw'): Promise<SeededSeat[]> {
  const now = new Date();
  const seats: SeededSeat[] = Array.from({ length: count }, (_, i) => ({ deviceId: newNumericId(), activationId: newActivationId(), hardwareId: `${prefix}-${i}` }));
  const { Device, License: Licenses } = db.models;
  const updated = await Licenses.collection.updateOne(
    { _id: license.id, accountId: license.accountId, $expr: { $lte: [{ $add: ['$timesActivated', count] }, '$maxActivations'] } } as never,
    { $inc: { timesActivated: count }, $set: { timeActivated: now, updatedAt: now, lastActivatedDeviceId: seats.at(-1)?.deviceId ?? null } } as never,
  );
  if (updated.matchedCount !== 1) throw new Error(`seedSeats: license ${license.id} has fewer than ${count} free seats`);
  // One device as the model builds it (every field with its default), copied for each seat: the
  // driver's insertMany then takes thousands at once without mongoose building each document.
  const template = new Device({ accountId: license.accountId, licenseId: license.id, productId: license.productId, active: true, blacklisted: false, seatChange: null, createdAt: now, updatedAt: now, lastSyncedAt: now }).toObject();
  await Device.collection.insertMany(
    seats.map((s) => ({ ...template, _id: s.deviceId, activationId: s.activationId, hardwareId: s.hardwareId, metadata: [] })) as never[],
    { ordered: false },
  );
  return seats;
}
