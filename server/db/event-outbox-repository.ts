import type { EventOutboxEntry } from '../domain/events.js';
import type { AnyOutboxEntry } from './license-document.js';
import type { Models } from './models.js';

/** Where an event outbox entry lives: the license document or the device document it was written with. */
export type OutboxOwner = { licenseId: number } | { deviceId: number };

/** Event entries left in outboxes (by a crash between the write and the move). */
export interface StrandedEntries {
  owner: OutboxOwner;
  /** The license the entries are about (the device's license for a device document). */
  licenseId: number;
  entries: EventOutboxEntry[];
}

/** Reads and removes event entries of license and device outboxes. */
export class EventOutboxRepository {
  constructor(private readonly models: Models) {}

  async remove(owner: OutboxOwner, entryId: string): Promise<void> {
    if ('licenseId' in owner) await this.models.License.updateOne({ _id: owner.licenseId }, { $pull: { outbox: { id: entryId } } });
    else await this.models.Device.updateOne({ _id: owner.deviceId }, { $pull: { outbox: { id: entryId } } });
  }

  /** Event entries written before `olderThan` and still in an outbox. */
  async stranded(olderThan: Date, limit = 200): Promise<StrandedEntries[]> {
    const filter = { outbox: { $elemMatch: { kind: 'event', at: { $lt: olderThan } } } };
    const pick = (outbox: AnyOutboxEntry[] | undefined) =>
      (outbox ?? []).filter((e): e is EventOutboxEntry => e.kind === 'event' && new Date(e.at).getTime() < olderThan.getTime());
    const licenses = await this.models.License.find(filter, { outbox: 1 }).limit(limit).lean<Array<{ _id: number; outbox?: AnyOutboxEntry[] }>>();
    const devices = await this.models.Device.find(filter, { outbox: 1, licenseId: 1 }).limit(limit).lean<Array<{ _id: number; licenseId: number; outbox?: AnyOutboxEntry[] }>>();
    return [
      ...licenses.map((d) => ({ owner: { licenseId: d._id }, licenseId: d._id, entries: pick(d.outbox) })),
      ...devices.map((d) => ({ owner: { deviceId: d._id }, licenseId: d.licenseId, entries: pick(d.outbox) })),
    ].filter((s) => s.entries.length > 0);
  }
}
