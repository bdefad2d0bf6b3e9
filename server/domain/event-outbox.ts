import { randomUUID } from 'node:crypto';
import type { EventOutboxRepository, OutboxOwner } from '../db/event-outbox-repository.js';
import type { EventsRepository, SequencedEvent } from '../db/events-repository.js';
import type { Clock } from './clock.js';
import type { EventIntent, EventOutboxEntry, EventPayloads } from './events.js';
import type { Device, License } from './types.js';

export interface EventStateLookup {
  license(accountId: number, licenseId: number): Promise<License | null>;
  deviceByActivationId(activationId: string): Promise<Device | null>;
}

export interface EventOutboxDeps {
  repo: EventOutboxRepository;
  events: EventsRepository;
  lookup: EventStateLookup;
  payloads: EventPayloads;
  clock: Clock;
  /** Called with each newly recorded event (webhook fan-out); failures are left to the dispatcher's sweep. */
  onRecorded?: (event: SequencedEvent) => Promise<void>;
  onError?: (err: unknown, context: string) => void;
}

/**
 * Durable events. A state change writes an event intent into the outbox of the document it changes
 * (the license document for counters, seats and settings; the device document for activation details
 * alone), in the same atomic write, so the change and its event are committed together. Right after,
 * the request that made the change `settle`s the entries: it builds each event's payload from the
 * state the write returned, inserts the event into the `events` collection (its id is the entry's id,
 * so a second insert is a no-op) and removes the entry from the outbox. Entries a crash left behind
 * are found by `repair` (run by the webhook dispatcher), which builds the payload from the current state.
 */
export class EventOutbox {
  constructor(private readonly deps: EventOutboxDeps) {}

  /** A new outbox entry for `intent`, to be written with the state change. */
  entry(intent: EventIntent, at: Date = this.deps.clock.now()): EventOutboxEntry {
    return { id: randomUUID(), kind: 'event', at, event: intent };
  }

  /**
   * Moves entries written with a state change into the events collection, building payloads from the
   * state after the change. Never throws: the state change has happened, and `repair` retries later.
   */
  async settle(owner: OutboxOwner, licenseId: number, entries: EventOutboxEntry[], state: { license?: License | null; device?: Device | null } = {}): Promise<void> {
    for (const entry of entries) {
      try {
        await this.move(owner, licenseId, entry, state);
      } catch (err) {
        this.deps.onError?.(err, `settling event ${entry.event.type}`);
      }
    }
  }

  /** Moves event entries left in outboxes before `olderThan` (payloads from the current state). Returns how many. */
  async repair(olderThan: Date): Promise<number> {
    let moved = 0;
    for (const stranded of await this.deps.repo.stranded(olderThan)) {
      for (const entry of stranded.entries) {
        await this.move(stranded.owner, stranded.licenseId, entry, {});
        moved += 1;
      }
    }
    return moved;
  }

  private async move(owner: OutboxOwner, licenseId: number, entry: EventOutboxEntry, given: { license?: License | null; device?: Device | null }): Promise<void> {
    const intent = entry.event;
    const license = given.license !== undefined && given.license !== null ? given.license : await this.deps.lookup.license(intent.accountId, licenseId);
    let device = given.device ?? null;
    if ('activationId' in intent && device?.activationId !== intent.activationId) device = await this.deps.lookup.deviceByActivationId(intent.activationId);
    const built = this.deps.payloads.build(intent, { licenseId, license, device, now: this.deps.clock.now() });
    for (const event of built) {
      const recorded = await this.deps.events.insert({
        id: event.idSuffix === '' ? entry.id : `${entry.id}:${event.idSuffix}`,
        accountId: intent.accountId,
        type: event.type,
        subject: event.subject,
        data: event.data,
        createdAt: new Date(entry.at),
      });
      if (recorded && this.deps.onRecorded) {
        await this.deps.onRecorded(recorded).catch((err: unknown) => this.deps.onError?.(err, 'fanning out an event'));
      }
    }
    await this.deps.repo.remove(owner, entry.id);
  }
}
