import { isDuplicateKey } from './duplicate-keys.js';
import type { Models } from './models.js';
import type { ClaimOutcome, IdempotencyPort, IdempotencyRecord } from '../domain/ports.js';

interface IdempotencyDocument {
  _id: string;
  accountId: number;
  requestHash: string;
  status: number | null;
  body: string | null;
  completedAt: Date | null;
  lockedUntil: Date | null;
  expiresAt: Date;
}

function recordId(accountId: number, key: string): string {
  return `${accountId}:${key}`;
}

function toRecord(doc: IdempotencyDocument, key: string): IdempotencyRecord {
  return {
    accountId: doc.accountId,
    key,
    requestHash: doc.requestHash,
    response: doc.completedAt !== null && doc.status !== null && typeof doc.body === 'string' ? { status: doc.status, body: doc.body } : null,
    lockedUntil: doc.lockedUntil ?? null,
    expiresAt: doc.expiresAt,
  };
}

/**
 * Idempotency keys per account (collection `idempotency`, TTL index on `expiresAt`). A key is claimed
 * by inserting its record (the unique `_id` makes exactly one concurrent claimer win), completed with
 * the response, or released when the request failed.
 */
export class IdempotencyRepository implements IdempotencyPort {
  constructor(private readonly models: Models) {}

  /**
   * Claims the key for a request. Wins when no live record exists, or when the record expired or its
   * holder's lock lapsed (a crashed request) — each case decided by one guarded write. A lock lapses
   * on the database's clock (`$$NOW`), the clock that also ends the deadlines of its holder's writes.
   */
  async claim(accountId: number, key: string, requestHash: string, now: Date, lockedUntil: Date, expiresAt: Date): Promise<ClaimOutcome> {
    const _id = recordId(accountId, key);
    const fresh: IdempotencyDocument = { _id, accountId, requestHash, status: null, body: null, completedAt: null, lockedUntil, expiresAt };
    try {
      await this.models.IdempotencyRecord.collection.insertOne(fresh as never);
      return { claimed: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const doc = await this.models.IdempotencyRecord.findOne({ _id }).lean<IdempotencyDocument>();
    if (!doc) return this.claim(accountId, key, requestHash, now, lockedUntil, expiresAt);
    if (doc.expiresAt.getTime() <= now.getTime()) {
      // Expired but not swept yet by the TTL monitor: start over, unless someone else just did.
      const res = await this.models.IdempotencyRecord.replaceOne({ _id, expiresAt: doc.expiresAt }, fresh);
      if (res.modifiedCount === 1) return { claimed: true };
      return this.current(accountId, key);
    }
    if (doc.completedAt === null && doc.requestHash === requestHash && doc.lockedUntil !== null && doc.lockedUntil.getTime() <= Date.now()) {
      const res = await this.models.IdempotencyRecord.collection.updateOne(
        { _id, completedAt: null, lockedUntil: doc.lockedUntil, $expr: { $lte: ['$lockedUntil', '$$NOW'] } } as never,
        { $set: { lockedUntil } },
      );
      if (res.modifiedCount === 1) return { claimed: true, takenOver: toRecord(doc, key) };
      return this.current(accountId, key);
    }
    return { claimed: false, record: toRecord(doc, key) };
  }

  private async current(accountId: number, key: string): Promise<ClaimOutcome> {
    const doc = await this.models.IdempotencyRecord.findOne({ _id: recordId(accountId, key) }).lean<IdempotencyDocument>();
    if (!doc) throw new Error('idempotency record vanished while being claimed');
    return { claimed: false, record: toRecord(doc, key) };
  }

  async find(accountId: number, key: string): Promise<IdempotencyRecord | null> {
    const doc = await this.models.IdempotencyRecord.findOne({ _id: recordId(accountId, key) }).lean<IdempotencyDocument>();
    return doc ? toRecord(doc, key) : null;
  }

  /** Stores the response of the request that holds the key. */
  async complete(accountId: number, key: string, requestHash: string, response: { status: number; body: string }, now: Date): Promise<void> {
    await this.models.IdempotencyRecord.updateOne(
      { _id: recordId(accountId, key), requestHash, completedAt: null },
      { $set: { status: response.status, body: response.body, completedAt: now, lockedUntil: null } },
    );
  }

  async holdUntil(accountId: number, key: string, requestHash: string, lockedUntil: Date): Promise<void> {
    await this.models.IdempotencyRecord.updateOne({ _id: recordId(accountId, key), requestHash, completedAt: null, lockedUntil: { $gt: lockedUntil } }, { $set: { lockedUntil } });
  }

  /** Frees a key whose request failed (nothing stored), so the request can be retried with it. */
  async release(accountId: number, key: string, requestHash: string): Promise<void> {
    await this.models.IdempotencyRecord.deleteOne({ _id: recordId(accountId, key), requestHash, completedAt: null });
  }
}
