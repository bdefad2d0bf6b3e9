import type { LedgerRetentionPort } from '../domain/ports.js';
import { ROLLUP_SLOT_MS } from '../domain/ledger-retention.js';
import { insertManyIgnoringDuplicates, isDuplicateKey } from './duplicate-keys.js';
import type { Models } from './models.js';
import { LEDGER_AMOUNTS, readSummarisedBefore, SUMMARISED_BEFORE_ID } from './usage-repository.js';

/** A rollup's key fields as grouped, and its sums. */
interface RollupRow {
  _id: { accountId: number; licenseId: number; scope: string; featureCode: string | null; deviceId: number | null; event: string; slot: number };
  consumed: number;
  refunded: number;
  net: number;
  count: number;
}

/**
 * The retention job's reads and writes (see domain/ledger-retention.ts), plain queries and updates
 * on the index `{at: 1}` of `ledger`, the collection `ledger_rollups` and one document of `settings`
 * (the mark), as on any MongoDB.
 */
export class LedgerRetentionRepository implements LedgerRetentionPort {
  constructor(private readonly models: Models) {}

  summarisedBefore(): Promise<Date | null> {
    return readSummarisedBefore(this.models);
  }

  async oldestPendingEntry(before: Date): Promise<Date | null> {
    // The licenses with a ledger entry in their outbox (index `outbox.kind`: few have any, for seconds).
    const docs = (await this.models.License.collection
      .find({ 'outbox.kind': 'ledger' } as never, { projection: { outbox: 1 } })
      .toArray()) as unknown as Array<{ outbox?: Array<{ kind: string; at: Date | string }> }>;
    let oldest: number | null = null;
    for (const doc of docs) {
      for (const entry of doc.outbox ?? []) {
        const at = new Date(entry.at).getTime();
        if (entry.kind === 'ledger' && at < before.getTime() && (oldest === null || at < oldest)) oldest = at;
      }
    }
    return oldest === null ? null : new Date(oldest);
  }

  async entryTimes(from: Date, to: Date, n: number): Promise<{ first: Date | null; last: Date | null }> {
    const range = { at: { $gte: from, $lt: to } };
    // Covered by the index `{at: 1}` on MongoDB (only `at` is read).
    const timeAt = async (skip: number) => {
      const [doc] = (await this.models.LedgerEntry.collection.find(range as never, { projection: { _id: 0, at: 1 } }).sort({ at: 1 }).skip(skip).limit(1).toArray()) as unknown as Array<{ at: Date }>;
      return doc?.at ?? null;
    };
    const first = await timeAt(0);
    return { first, last: first === null ? null : await timeAt(n - 1) };
  }

  async insertRollups(from: Date, to: Date): Promise<number> {
    const at = { $toLong: '$at' };
    const rows = (await this.models.LedgerEntry.collection
      .aggregate([
        { $match: { at: { $gte: from, $lt: to } } },
        {
          $group: {
            _id: {
              accountId: '$accountId',
              licenseId: '$licenseId',
              scope: '$scope',
              featureCode: { $ifNull: ['$featureCode', null] },
              deviceId: { $ifNull: ['$deviceId', null] },
              event: '$event',
              slot: { $subtract: [at, { $mod: [at, ROLLUP_SLOT_MS] }] },
            },
            ...LEDGER_AMOUNTS,
          },
        },
      ])
      .toArray()) as unknown as RollupRow[];
    const docs = rows.map(({ _id: k, consumed, refunded, net, count }) => {
      const slot = Number(k.slot);
      return {
        _id: JSON.stringify([k.accountId, k.licenseId, k.scope, k.featureCode, k.deviceId, k.event, slot]),
        accountId: k.accountId,
        licenseId: k.licenseId,
        scope: k.scope,
        featureCode: k.featureCode,
        deviceId: k.deviceId,
        event: k.event,
        slot: new Date(slot),
        consumed: Number(consumed),
        refunded: Number(refunded),
        net: Number(net),
        count: Number(count),
      };
    });
    // Written once: a rollup stored by an earlier (crashed, or concurrent) pass is kept.
    await insertManyIgnoringDuplicates(this.models.LedgerRollup.collection, docs);
    return docs.length;
  }

  async moveMark(to: Date): Promise<void> {
    const write = () => this.models.Setting.collection.updateOne({ _id: SUMMARISED_BEFORE_ID } as never, { $max: { value: to }, $setOnInsert: { createdAt: new Date() } }, { upsert: true });
    try {
      await write();
    } catch (err) {
      // Two first passes at once: one inserted the mark, the other now moves it.
      if (!isDuplicateKey(err)) throw err;
      await write();
    }
  }

  async deleteEntriesBefore(before: Date): Promise<number> {
    const res = await this.models.LedgerEntry.collection.deleteMany({ at: { $lt: before } });
    return res.deletedCount;
  }
}
