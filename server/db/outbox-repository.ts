import type { EventOutboxEntry } from '../domain/events.js';
import { toLicense, type LicenseDocument } from './license-document.js';
import type { Models } from './models.js';
import type { OutboxOwner, OutboxPort, StrandedEntries } from '../domain/ports.js';
import type { AnyOutboxEntry, OutboxEntry } from '../domain/ports.js';

/**
 * Reads and removes entries of license and device outboxes (ledger entries and event intents
 * written in the same atomic update as the state change they record).
 */
export class OutboxRepository implements OutboxPort {
  constructor(private readonly models: Models) {}

  /** Removes moved entries: one round trip for all owners (one `$pull` per document). */
  async remove(moved: Array<{ owner: OutboxOwner; entryIds: string[] }>): Promise<void> {
    const licenses = moved.filter((m) => 'licenseId' in m.owner && m.entryIds.length > 0);
    const devices = moved.filter((m) => 'deviceId' in m.owner && m.entryIds.length > 0);
    const pull = (ids: string[]) => ({ $pull: { outbox: { id: { $in: ids } } } });
    if (licenses.length > 0) {
      await this.models.License.collection.bulkWrite(
        licenses.map((m) => ({ updateOne: { filter: { _id: (m.owner as { licenseId: number }).licenseId }, update: pull(m.entryIds) } })) as never,
        { ordered: false },
      );
    }
    if (devices.length > 0) {
      await this.models.Device.collection.bulkWrite(
        devices.map((m) => ({ updateOne: { filter: { _id: (m.owner as { deviceId: number }).deviceId }, update: pull(m.entryIds) } })) as never,
        { ordered: false },
      );
    }
  }

  /**
   * The documents whose outbox still holds an entry written before `olderThan` (at most `limit` of
   * each kind of entry): every ledger entry of such a license (they leave an outbox only as a prefix),
   * and the event entries written before the cut-off. The documents are found by equality on
   * the entry kind (index `outbox.kind`), so the cost is that of the documents with pending entries,
   * not of the collection: a range on the entries' time would scan every document in some engines.
   */
  async stranded(olderThan: Date, limit = 200): Promise<StrandedEntries[]> {
    const older = { $elemMatch: { at: { $lt: olderThan } } };
    const old = (e: AnyOutboxEntry) => new Date(e.at).getTime() < olderThan.getTime();
    const split = (outbox: AnyOutboxEntry[] | undefined) => ({
      ledger: (outbox ?? []).filter((e): e is OutboxEntry => e.kind === 'ledger'),
      events: (outbox ?? []).filter((e): e is EventOutboxEntry => e.kind === 'event' && old(e)),
    });
    type Owner = { _id: number; licenseId?: number; outbox?: AnyOutboxEntry[] };
    const licenseDocs = (kind: AnyOutboxEntry['kind']) =>
      this.models.License.collection.find({ 'outbox.kind': kind, outbox: older } as never, { limit }).toArray() as unknown as Promise<LicenseDocument[]>;
    const licenses = new Map<number, LicenseDocument>();
    for (const doc of [...(await licenseDocs('ledger')), ...(await licenseDocs('event'))]) licenses.set(doc._id, doc);
    const devices = await this.models.Device.find({ 'outbox.kind': 'event', outbox: older }, { outbox: 1, licenseId: 1 }).limit(limit).lean<Owner[]>();
    return [
      ...[...licenses.values()].map((d) => ({ owner: { licenseId: d._id }, licenseId: d._id, license: toLicense(d), ...split(d.outbox) })),
      ...devices.map((d) => ({ owner: { deviceId: d._id }, licenseId: d.licenseId!, ...split(d.outbox), ledger: [] })),
    ].filter((s) => s.ledger.length + s.events.length > 0);
  }
}
