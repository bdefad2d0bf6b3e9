import type { LedgerEntry } from '../domain/types.js';
import type { LicenseDocument, OutboxEntry } from './license-document.js';
import type { Models } from './models.js';

interface LedgerDocument extends Omit<LedgerEntry, 'id' | 'totalAfter'> {
  totalAfter: number | null;
  _id: string;
}

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number }).code === 11000 || /E11000/.test(String((err as Error).message));
}

/**
 * The append-only consumption ledger. Entries are first written into the license document's outbox
 * in the same atomic update as the counter, then moved here: right after the update by the request
 * that made it (with the resulting total), or by `sweepOutbox` after a crash (resulting total unknown).
 */
export class LedgerRepository {
  constructor(private readonly models: Models) {}

  /** Moves one outbox entry of a license into the ledger. Idempotent. */
  async moveFromOutbox(licenseId: number, entry: OutboxEntry, totalAfter: number | null): Promise<void> {
    const doc = { _id: entry.ledger.id, ...withoutId(entry.ledger), licenseId, totalAfter };
    try {
      await this.models.LedgerEntry.collection.insertOne(doc as never);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    await this.models.License.collection.updateOne({ _id: licenseId } as never, { $pull: { outbox: { id: entry.id } } } as never);
  }

  /** Moves outbox entries older than `olderThan` (left behind by a crash) into the ledger. Returns how many. */
  async sweepOutbox(olderThan: Date, limit = 500): Promise<number> {
    const docs = await this.models.License.find({ outbox: { $elemMatch: { kind: 'ledger', at: { $lt: olderThan } } } }, { outbox: 1 })
      .limit(limit)
      .lean<Array<Pick<LicenseDocument, '_id' | 'outbox'>>>();
    let moved = 0;
    for (const doc of docs) {
      for (const entry of doc.outbox ?? []) {
        // Event entries are moved by the event outbox (domain/event-outbox.ts).
        if (entry.kind !== 'ledger' || new Date(entry.at).getTime() >= olderThan.getTime()) continue;
        await this.moveFromOutbox(doc._id, entry, null);
        moved += 1;
      }
    }
    return moved;
  }

  async entriesFor(accountId: number, licenseId: number): Promise<LedgerEntry[]> {
    const docs = await this.models.LedgerEntry.find({ accountId, licenseId }).sort({ at: 1 }).lean<LedgerDocument[]>();
    return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }));
  }
}

function withoutId<T extends { id: string }>(value: T): Omit<T, 'id'> {
  const { id: _id, ...rest } = value;
  return rest;
}
