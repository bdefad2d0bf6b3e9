/**
 * Deletes documents whose TTL index date has expired, once a minute (like mongod's TTL monitor),
 * reading only the expired ones through the index's dates in order.
 */
import type { Logger } from '../server.js';
import { pathValues } from '../query/paths.js';
import type { Catalog } from './catalog.js';
import { DATES } from './indexes.js';

export class TtlMonitor {
  private timer: NodeJS.Timeout | undefined;
  /** How many documents the last sweep read (diagnostics, tests). */
  lastExamined = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly logger?: Logger,
    private readonly intervalMs = 60_000,
    /** The periodic pass is skipped while this says no (the journal cannot be written). */
    private readonly writable: () => boolean = () => true,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.writable()) this.sweep();
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  sweep(now = Date.now()): number {
    let removed = 0;
    this.lastExamined = 0;
    try {
      for (const colls of this.catalog.dbs.values()) {
        for (const coll of colls.values()) {
          for (const ix of coll.indexes.values()) {
            const ttl = ix.spec.expireAfterSeconds;
            if (typeof ttl !== 'number' || ix.fields.length !== 1) continue;
            const field = ix.fields[0]!;
            // The documents whose date is old enough, from the index's root group (dates in order);
            // without one (an array of dates somewhere), every document.
            const run = ix.orderedRange([], DATES, -Infinity, true, now - ttl * 1000, true);
            const docs = run ? coll.readSlots(Array.from(run.slots)) : [...coll.all()];
            this.lastExamined += docs.length;
            for (const doc of docs) {
              const expired = pathValues(doc, field, true).some(
                (v) => v instanceof Date && v.getTime() + ttl * 1000 <= now,
              );
              if (expired) {
                coll.remove(doc);
                removed++;
              }
            }
          }
        }
      }
    } catch (err) {
      this.logger?.warn?.(`embedded-mongo: TTL sweep failed: ${(err as Error).message}`);
    }
    return removed;
  }
}
