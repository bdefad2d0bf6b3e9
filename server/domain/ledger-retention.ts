import type { Clock } from './clock.js';
import { IDEMPOTENCY_RETENTION_MS } from './idempotency.js';
import type { LedgerRetentionPort } from './ports.js';

/**
 * Retention of the consumption ledger (LEDGER_RETENTION_DAYS): keep every entry (the default), or
 * keep N days of entries and summarise older ones into rollups before they are deleted, so that usage
 * reports give the same numbers before and after.
 *
 * A rollup holds the sums (consumed, refunded, net, count) of one counter's entries (account, license,
 * scope, feature, device, event) in one 15-minute UTC slot. Every offset in use by an IANA zone is a
 * multiple of 15 minutes, so every hour, day, week and month boundary of every zone is a slot boundary
 * and reports from rollups are exact.
 *
 * One mark, `summarisedBefore` (a slot boundary, only ever moved forward), divides the ledger: before
 * it a report reads rollups, from it on entries. The job moves it a bounded batch at a time: (1)
 * inserts the rollups of every slot of the batch from all of their entries (insert only: a rollup
 * already stored is kept, never recomputed), (2) moves the mark past the batch, (3) deletes the
 * batch's entries. A crash after (1) re-inserts the same rollups (the entries are all still there); a
 * crash after (2) leaves entries before the mark, which reports no longer read and the next run
 * deletes. Units are never lost nor counted twice.
 */

/** The length of a rollup's slot: a quarter of an hour, aligned in UTC. */
export const ROLLUP_SLOT_MS = 15 * 60_000;

const DAY_MS = 86_400_000;

/**
 * The shortest retention: entries must outlive an Idempotency-Key (a retry that takes over a crashed
 * request's key looks for the key's ledger entry, written at most the key's lifetime ago) and the
 * horizon's rounding down to a slot, in whole days: 2.
 */
export const MIN_LEDGER_RETENTION_DAYS = Math.ceil((IDEMPOTENCY_RETENTION_MS + ROLLUP_SLOT_MS) / DAY_MS);

/** The longest retention one can set (100 years; longer is "forever"). */
export const MAX_LEDGER_RETENTION_DAYS = 36_500;

/** Entries the job reads per batch, about (a batch is whole slots; one slot with more entries is one batch). */
export const DEFAULT_RETENTION_BATCH = 10_000;

/** The start of the slot holding instant `ms`. */
export function slotStart(ms: number): number {
  return ms - (((ms % ROLLUP_SLOT_MS) + ROLLUP_SLOT_MS) % ROLLUP_SLOT_MS);
}

export interface RetentionPass {
  /** The mark after the pass: entries before it are summarised (null: nothing ever was). */
  summarisedBefore: Date | null;
  rollups: number;
  deleted: number;
}

export class LedgerRetention {
  constructor(
    private readonly repo: LedgerRetentionPort,
    private readonly clock: Clock,
    /** Days of entries kept; null keeps every entry. */
    private readonly days: number | null,
    private readonly batch: number = DEFAULT_RETENTION_BATCH,
  ) {}

  /** Where summarising stops now: N days ago, at a slot boundary; null when every entry is kept. */
  horizon(): Date | null {
    if (this.days === null) return null;
    return new Date(slotStart(this.clock.now().getTime() - this.days * DAY_MS));
  }

  /** One pass: summarises and deletes every entry before the horizon, a batch at a time. */
  async run(): Promise<RetentionPass> {
    let horizon = this.horizon()?.getTime();
    const pass: RetentionPass = { summarisedBefore: await this.repo.summarisedBefore(), rollups: 0, deleted: 0 };
    if (horizon === undefined) return pass;
    // An entry still in an outbox reaches the ledger later, with its own (older) time: its slot must
    // not be summarised before it is there. Entries written from now on are newer than the horizon.
    const pending = await this.repo.oldestPendingEntry(new Date(horizon));
    if (pending) horizon = Math.min(horizon, slotStart(pending.getTime()));
    let mark = pass.summarisedBefore?.getTime() ?? 0;
    // Entries a crash left after the mark moved past them (reports no longer read them).
    if (mark > 0) pass.deleted += await this.repo.deleteEntriesBefore(new Date(mark));
    while (mark < horizon) {
      const { first, last } = await this.repo.entryTimes(new Date(mark), new Date(horizon), this.batch);
      let end = horizon;
      if (first) {
        // Whole slots only: up to the slot of the batch's last entry, or one slot when it holds them all.
        const firstSlot = slotStart(first.getTime());
        end = last ? Math.max(slotStart(last.getTime()), firstSlot + ROLLUP_SLOT_MS) : horizon;
        pass.rollups += await this.repo.insertRollups(new Date(mark), new Date(end));
      }
      await this.repo.moveMark(new Date(end));
      pass.summarisedBefore = new Date(end);
      if (first) pass.deleted += await this.repo.deleteEntriesBefore(new Date(end));
      mark = end;
    }
    return pass;
  }
}
