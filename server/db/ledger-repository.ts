import type { LedgerEntry } from '../domain/types.js';
import { insertManyIgnoringDuplicates } from './duplicate-keys.js';
import type { Models } from './models.js';
import type { LedgerMove, LedgerPort } from '../domain/ports.js';

interface LedgerDocument extends Omit<LedgerEntry, 'id' | 'totalAfter'> {
  totalAfter: number | null;
  _id: string;
}

function ledgerDocument({ licenseId, entry, totalAfter }: LedgerMove): LedgerDocument {
  return { _id: entry.ledger.id, ...withoutId(entry.ledger), licenseId, totalAfter };
}

/**
 * The append-only consumption ledger. Entries are first written into the license document's outbox
 * in the same atomic update as the counter, then moved here: right after the update, for the request
 * that made it (with the resulting total; see domain/outbox-settler.ts), or by the settler's repair
 * step after a crash (resulting total unknown).
 */
export class LedgerRepository implements LedgerPort {
  constructor(private readonly models: Models) {}

  /**
   * Inserts the ledger entries of several outbox entries in one round trip (entries already in the
   * ledger are kept). Removing them from the outboxes is the caller's (OutboxSettler's) job.
   */
  async insertMoves(moves: LedgerMove[]): Promise<void> {
    await insertManyIgnoringDuplicates(this.models.LedgerEntry.collection, moves.map(ledgerDocument));
  }

  /** The newest entry of the account made with this Idempotency-Key at or after `since` (index `idempotencyKey_1_accountId_1`). */
  async findByIdempotencyKey(accountId: number, key: string, since: Date): Promise<LedgerEntry | null> {
    const docs = await this.models.LedgerEntry.collection.find({ idempotencyKey: key, accountId } as never).toArray() as unknown as LedgerDocument[];
    const found = docs.filter((d) => d.at.getTime() >= since.getTime()).sort((a, b) => b.at.getTime() - a.at.getTime())[0];
    if (!found) return null;
    const { _id, ...rest } = found;
    return { id: _id, ...rest };
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
