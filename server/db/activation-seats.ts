import type { EventOutboxEntry } from '../domain/events.js';
import { toLicense, type LicenseDocument } from './license-document.js';
import { ledgerOutboxEntry, pendingLedgerEntries } from '../domain/ledger-entries.js';
import { beforeDeadlineExpression, usableLicenseFilter } from '../domain/license-rules.js';
import { seatLimitExpression } from '../domain/seat-rules.js';
import type { Models } from './models.js';
import type { FilterQuery } from './query-types.js';
import type { ActivationSeatsPort, AnyOutboxEntry, FloatingUses, LicenseWithPending, ReplacedSeat, SeatOutboxEntry } from '../domain/ports.js';
import type { SeatChange } from '../domain/types.js';

/** The seat entry of a change, pushed into the license's outbox by the write that makes it. */
function seatEntry(change: SeatChange, deviceId: number, now: Date): SeatOutboxEntry {
  return { id: change.id, kind: 'seat', at: now, deviceId, op: change.op };
}

/**
 * The license side of seat changes: one guarded write each. Taking a seat checks the limit
 * (`timesActivated < maxActivations`) and the license's usability; releasing lowers the count, raises
 * the seat epoch and takes each floating feature's uses by this device out of the feature's total
 * (gross untouched), guarded by the uses as read, so a concurrent change makes it match nothing and
 * the caller re-reads and retries. Both apply only before the change's deadline (database clock) and
 * push the change's `seat` entry into the outbox, which stays until the device document has followed.
 */
export class ActivationSeatsRepository implements ActivationSeatsPort {
  constructor(private readonly models: Models) {}

  async take(accountId: number, licenseId: number, deviceId: number, change: SeatChange, now: Date, events: EventOutboxEntry[] = [], replacing?: ReplacedSeat): Promise<LicenseWithPending | null> {
    const taken = seatEntry(change, deviceId, now);
    if (replacing) {
      // The expired seat's place goes to the new device in this one write: the count stays, the seat
      // epoch rises (a seat was taken away), the old device's floating uses go back.
      const freed = this.releaseParts(accountId, licenseId, replacing.deviceId, replacing.floating, replacing.change, now);
      // The usability conditions join the release's guards in one `$and`.
      const { $and: guards, ...rest } = freed.filter as FilterQuery & { $and?: FilterQuery[] };
      const filter: FilterQuery = { ...rest, ...usableLicenseFilter(now, guards ?? []), $expr: { $and: [beforeDeadlineExpression(change.deadline), beforeDeadlineExpression(replacing.change.deadline)] } };
      const update: Record<string, unknown> = {
        $push: { outbox: { $each: [taken, ...freed.push, ...events] } },
        $inc: { seatEpoch: 1, ...freed.inc },
        $set: { updatedAt: now, timeActivated: now, lastActivatedDeviceId: deviceId },
      };
      if (Object.keys(freed.unset).length > 0) update.$unset = freed.unset;
      const doc = (await this.models.License.collection.findOneAndUpdate(filter as never, update as never, { returnDocument: 'after' })) as LicenseDocument | null;
      return doc ? { license: toLicense(doc), pending: pendingLedgerEntries(doc.outbox) } : null;
    }
    const doc = (await this.models.License.collection.findOneAndUpdate(
      {
        _id: licenseId,
        accountId,
        ...usableLicenseFilter(now),
        $expr: { $and: [{ $lt: ['$timesActivated', seatLimitExpression()] }, beforeDeadlineExpression(change.deadline)] },
      } as never,
      {
        $push: { outbox: { $each: [taken, ...events] } },
        $inc: { timesActivated: 1 },
        $set: { updatedAt: now, timeActivated: now, lastActivatedDeviceId: deviceId },
      } as never,
      { returnDocument: 'after', projection: { outbox: 0 } },
    )) as LicenseDocument | null;
    return doc ? { license: toLicense(doc), pending: [] } : null;
  }

  /**
   * The parts of a write that gives a device's seat back: the guard on its floating uses as read, the
   * `$inc`/`$unset` taking them out of each feature's total, and the outbox entries (the seat entry and
   * a `release` ledger entry per use given back).
   */
  private releaseParts(accountId: number, licenseId: number, deviceId: number, floating: FloatingUses[], change: SeatChange, now: Date) {
    const guards: FilterQuery[] = floating.map((f) => ({
      features: { $elemMatch: { code: f.code, [`uses.${deviceId}`]: f.uses === 0 ? { $in: [0, null] } : f.uses } },
    }));
    const filter: FilterQuery = { _id: licenseId, accountId, ...(guards.length > 0 ? { $and: guards } : {}) };
    const inc: Record<string, number> = {};
    const unset: Record<string, ''> = {};
    for (const f of floating) {
      filter[`features.${f.index}.code`] = f.code;
      if (f.uses === 0) continue;
      inc[`features.${f.index}.total`] = -f.uses;
      unset[`features.${f.index}.uses.${deviceId}`] = '';
    }
    // Uses given back leave the feature's total: the ledger records each (the ledger always sums to the totals).
    const ledger = floating
      .filter((f) => f.uses !== 0)
      .map((f) =>
        ledgerOutboxEntry({ accountId, licenseId, scope: 'feature', featureCode: f.code, deviceId, amount: -f.uses, event: 'release', requestId: null, idempotencyKey: null, at: now }),
      );
    return { filter, inc, unset, push: [seatEntry(change, deviceId, now), ...ledger] };
  }

  async release(accountId: number, licenseId: number, deviceId: number, floating: FloatingUses[], change: SeatChange, now: Date, events: EventOutboxEntry[] = []): Promise<LicenseWithPending | null> {
    const freed = this.releaseParts(accountId, licenseId, deviceId, floating, change, now);
    const filter: FilterQuery = { ...freed.filter, $expr: beforeDeadlineExpression(change.deadline) };
    const update: Record<string, unknown> = { $push: { outbox: { $each: [...freed.push, ...events] } }, $inc: { timesActivated: -1, seatEpoch: 1, ...freed.inc }, $set: { updatedAt: now } };
    if (Object.keys(freed.unset).length > 0) update.$unset = freed.unset;
    const doc = (await this.models.License.collection.findOneAndUpdate(filter as never, update as never, { returnDocument: 'after' })) as LicenseDocument | null;
    return doc ? { license: toLicense(doc), pending: pendingLedgerEntries(doc.outbox) } : null;
  }

  async raiseSeatEpoch(accountId: number, licenseId: number, now: Date): Promise<void> {
    await this.models.License.collection.updateOne({ _id: licenseId, accountId } as never, { $inc: { seatEpoch: 1 }, $set: { updatedAt: now } } as never);
  }

  async hasSeatEntry(licenseId: number, changeId: string): Promise<boolean> {
    const doc = await this.models.License.collection.findOne({ _id: licenseId, outbox: { $elemMatch: { kind: 'seat', id: changeId } } } as never, { projection: { _id: 1 } });
    return doc !== null;
  }

  async removeSeatEntry(licenseId: number, changeId: string): Promise<void> {
    await this.models.License.collection.updateOne({ _id: licenseId } as never, { $pull: { outbox: { kind: 'seat', id: changeId } } } as never);
  }

  async strandedSeatEntries(olderThan: Date, limit: number): Promise<Array<SeatOutboxEntry & { licenseId: number; accountId: number }>> {
    const docs = (await this.models.License.collection
      .find({ 'outbox.kind': 'seat' } as never, { projection: { accountId: 1, outbox: 1 }, limit })
      .toArray()) as unknown as Array<{ _id: number; accountId: number; outbox?: AnyOutboxEntry[] }>;
    return docs.flatMap((d) =>
      (d.outbox ?? [])
        .filter((e): e is SeatOutboxEntry => e.kind === 'seat' && new Date(e.at).getTime() < olderThan.getTime())
        .map((e) => ({ ...e, licenseId: d._id, accountId: d.accountId })),
    );
  }
}
