import type { LedgerEvent, LedgerEntry } from '../domain/types.js';
import type { LedgerPosition, LedgerSelection, UsageAmounts, UsagePort, UsageSource } from '../domain/usage.js';
import type { Models } from './models.js';

interface LedgerDocument extends Omit<LedgerEntry, 'id'> {
  _id: string;
}

/**
 * The filter of a selection. It starts with the ledger index's keys (`accountId`, `licenseId`, a
 * range of `at`), so MongoDB reads only this license's entries of the range; scope, feature and
 * device are checked on those (no index of theirs is needed: they never widen the scan beyond the
 * license's range).
 */
function filterOf(s: Omit<LedgerSelection, 'licenseId'> & { licenseId: number | { $in: number[] } }, time: 'at' | 'slot' = 'at'): Record<string, unknown> {
  const range: Record<string, Date> = {};
  if (s.from) range.$gte = s.from;
  if (s.to) range.$lt = s.to;
  return {
    accountId: s.accountId,
    licenseId: s.licenseId,
    ...(s.from || s.to ? { [time]: range } : {}),
    ...(s.scope ? { scope: s.scope } : {}),
    ...(s.scope === 'feature' && s.featureCode !== undefined ? { featureCode: s.featureCode } : {}),
    ...(s.deviceId !== undefined ? { deviceId: s.deviceId } : {}),
  };
}

const STREAM_BATCH = 1000;

function toEntry({ _id, ...rest }: LedgerDocument): LedgerEntry {
  return { id: _id, ...rest };
}

/** The sums of a bucket's entries (also of a rollup's, see ledger-retention-repository.ts). */
export const LEDGER_AMOUNTS = {
  consumed: { $sum: { $cond: [{ $gt: ['$amount', 0] }, '$amount', 0] } },
  refunded: { $sum: { $cond: [{ $lt: ['$amount', 0] }, '$amount', 0] } },
  net: { $sum: '$amount' },
  count: { $sum: 1 },
};

/** The sums of a bucket's rollups. */
const ROLLUP_AMOUNTS = { consumed: { $sum: '$consumed' }, refunded: { $sum: '$refunded' }, net: { $sum: '$net' }, count: { $sum: '$count' } };

/** The `settings` document holding the retention mark: entries before it are summarised into rollups. */
export const SUMMARISED_BEFORE_ID = 'ledger-summarised-before';

/** The retention mark (null: nothing was ever summarised). */
export async function readSummarisedBefore(models: Models): Promise<Date | null> {
  const doc = (await models.Setting.collection.findOne({ _id: SUMMARISED_BEFORE_ID } as never)) as { value?: Date } | null;
  return doc?.value instanceof Date ? doc.value : null;
}

/** Where a report's sums come from: the entries' collection and time, or the rollups' (`ledger_rollups`, their slot's start). */
const SOURCES = {
  entries: { model: 'LedgerEntry', time: 'at', amounts: LEDGER_AMOUNTS },
  rollups: { model: 'LedgerRollup', time: 'slot', amounts: ROLLUP_AMOUNTS },
} as const;

/**
 * Reads of the consumption ledger for usage reports (index `accountId_1_licenseId_1_at_1__id_1`),
 * and of its rollups (index `accountId_1_licenseId_1_slot_1`).
 */
export class UsageRepository implements UsagePort {
  constructor(private readonly models: Models) {}

  summarisedBefore(): Promise<Date | null> {
    return readSummarisedBefore(this.models);
  }

  async sumByBucket(
    selection: LedgerSelection & { from: Date; to: Date },
    events: readonly LedgerEvent[],
    boundaries: readonly Date[],
    source: UsageSource = 'entries',
  ): Promise<Array<UsageAmounts & { index: number }>> {
    const { model, time, amounts } = SOURCES[source];
    const bounds = boundaries.map((b) => b.getTime());
    const rows = (await this.models[model].collection
      .aggregate([{ $match: { ...filterOf(selection, time), event: { $in: [...events] } } }, { $bucket: { groupBy: { $toLong: `$${time}` }, boundaries: bounds, output: amounts } }])
      .toArray()) as Array<UsageAmounts & { _id: number }>;
    const indexOf = new Map(bounds.map((b, i) => [b, i]));
    return rows
      .filter((r) => r.count > 0)
      .map(({ _id, consumed, refunded, net, count }) => ({ index: indexOf.get(Number(_id))!, consumed: Number(consumed), refunded: Number(refunded), net: Number(net), count: Number(count) }));
  }

  async sumByLicenseAndBucket(
    selection: Omit<LedgerSelection, 'licenseId'> & { licenseIds: readonly number[]; from: Date; to: Date },
    events: readonly LedgerEvent[],
    boundaries: readonly Date[],
    source: UsageSource = 'entries',
  ): Promise<Array<UsageAmounts & { licenseId: number; index: number }>> {
    const { model, time, amounts } = SOURCES[source];
    const { licenseIds, ...rest } = selection;
    const bounds = boundaries.map((b) => b.getTime());
    // A bucket's index: how many boundaries are at or before the entry's time, less one.
    const index = { $subtract: [{ $size: { $filter: { input: bounds.slice(0, -1), as: 'b', cond: { $lte: ['$$b', { $toLong: `$${time}` }] } } } }, 1] };
    const rows = (await this.models[model].collection
      .aggregate([
        { $match: { ...filterOf({ ...rest, licenseId: { $in: [...licenseIds] } }, time), event: { $in: [...events] } } },
        { $group: { _id: { license: '$licenseId', index }, ...amounts } },
      ])
      .toArray()) as Array<UsageAmounts & { _id: { license: number; index: number } }>;
    return rows.map(({ _id, consumed, refunded, net, count }) => ({
      licenseId: Number(_id.license),
      index: Number(_id.index),
      consumed: Number(consumed),
      refunded: Number(refunded),
      net: Number(net),
      count: Number(count),
    }));
  }

  async page(selection: LedgerSelection, after: LedgerPosition | null, limit: number): Promise<LedgerEntry[]> {
    if (!after) return this.read(filterOf(selection), limit);
    // After a position: first the rest of the entries at the position's own time (by id), then
    // the entries after that time. Two index reads whose filters need no $or, so neither database
    // evaluates one for every entry; the second starts right after the position's time.
    const { from, to, ...rest } = selection;
    const base = filterOf(rest);
    const inRange = !(from && after.at < from) && !(to && after.at >= to);
    const ties = inRange ? await this.read({ ...base, at: after.at, _id: { $gt: after.id } }, limit) : [];
    if (ties.length >= limit) return ties;
    const later: Record<string, Date> = from && from > after.at ? { $gte: from } : { $gt: after.at };
    if (to) later.$lt = to;
    return [...ties, ...(await this.read({ ...base, at: later }, limit - ties.length))];
  }

  async *stream(selection: LedgerSelection, after: LedgerPosition | null): AsyncIterable<LedgerEntry> {
    // Pages of STREAM_BATCH in ledger order, each after the last one's position: every page is one
    // bounded read of the index's range, so the database holds no more than a page for an export
    // whatever its size (a cursor over the whole range would keep the rest on the server: the
    // embedded engine holds a cursor's documents), and a client gone stops it between pages. The
    // next page is asked for while this one is handed out (the database reads while the caller
    // writes); at most two pages are held.
    let next: Promise<LedgerEntry[]> | null = this.page(selection, after, STREAM_BATCH);
    while (next) {
      const page: LedgerEntry[] = await next;
      next = null;
      if (page.length === STREAM_BATCH) {
        const last = page[page.length - 1]!;
        next = this.page(selection, { at: last.at, id: last.id }, STREAM_BATCH);
        // (A caller that stops early leaves it unawaited: its failure is not an unhandled rejection.)
        next.catch(() => undefined);
      }
      for (const entry of page) yield entry;
    }
  }

  /** Up to `limit` entries of the filter in ledger order (the index's), in one batch: no cursor stays open on the server. */
  private async read(filter: Record<string, unknown>, limit: number): Promise<LedgerEntry[]> {
    // The index's equality keys and the range of `at` stay at the top level (the embedded engine's planner looks only there).
    const docs = (await this.models.LedgerEntry.collection.find(filter as never).sort({ at: 1, _id: 1 }).limit(limit).batchSize(limit).toArray()) as unknown as LedgerDocument[];
    return docs.map(toEntry);
  }
}
