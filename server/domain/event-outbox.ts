import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import type { EventIntent, EventOutboxEntry } from './events.js';
import type { OutboxSettler } from './outbox-settler.js';
import type { Device, License } from './types.js';
import type { LedgerMove, OutboxOwner } from './ports.js';

/**
 * Durable events. A state change writes an event intent into the outbox of the document it changes
 * (the license document for counters, seats and settings; the device document for activation details
 * alone), in the same atomic write, so the change and its event are committed together. Right after,
 * the request that made the change `settle`s the entries (with the ledger entries the write made):
 * the OutboxSettler builds each event's payload from the state the write returned, inserts the event
 * into the `events` collection (its id is the entry's id, so a second insert is a no-op) and removes
 * the entry from the outbox, batching the work of concurrent requests. Entries a crash left behind are
 * found by `repair` (run by the webhook dispatcher), which builds payloads from the current state.
 */
export class EventOutbox {
  constructor(
    private readonly settler: OutboxSettler,
    private readonly clock: Clock,
  ) {}

  /** A new outbox entry for `intent`, to be written with the state change. */
  entry(intent: EventIntent, at: Date = this.clock.now()): EventOutboxEntry {
    return { id: randomUUID(), kind: 'event', at, event: intent };
  }

  /**
   * Moves the entries written with a state change (events, and ledger entries when given) to their
   * collections, building payloads from the state after the change. Never throws: the state change
   * has happened, and `repair` retries later.
   */
  settle(owner: OutboxOwner, licenseId: number, entries: EventOutboxEntry[], state: { license?: License | null; device?: Device | null; narrowed?: boolean } = {}, ledger: LedgerMove[] = []): Promise<void> {
    return this.settler.settle({ owner, licenseId, events: entries, ledger, state });
  }

  /** Moves entries (events and ledger entries) left in outboxes before `olderThan`. Returns how many. */
  repair(olderThan: Date): Promise<number> {
    return this.settler.repair(olderThan);
  }
}
