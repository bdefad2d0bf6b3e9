import type { LedgerRepository, LedgerMove } from '../db/ledger-repository.js';
import type { EventsRepository, SequencedEvent } from '../db/events-repository.js';
import type { OutboxOwner, OutboxRepository } from '../db/outbox-repository.js';
import type { Clock } from './clock.js';
import type { EventOutboxEntry, EventPayloads, RecordedEvent } from './events.js';
import type { Device, License } from './types.js';

export interface EventStateLookup {
  license(accountId: number, licenseId: number): Promise<License | null>;
  deviceByActivationId(activationId: string): Promise<Device | null>;
}

/** The outbox entries one write made, to be moved to the ledger and the events collection. */
export interface SettleJob {
  owner: OutboxOwner;
  /** The license the entries are about. */
  licenseId: number;
  ledger: LedgerMove[];
  events: EventOutboxEntry[];
  /** The state the write returned (event payloads are built from it); looked up when missing. */
  state: { license?: License | null | undefined; device?: Device | null | undefined };
}

/** Who wants an event, and the deliveries to them (see WebhookService). */
export interface EventFanOut {
  subscribersOf(accountIds: number[]): Promise<(event: RecordedEvent) => unknown[]>;
  deliver(fannedOut: Array<{ event: SequencedEvent; subscribers: unknown[] }>): Promise<void>;
}

export interface OutboxSettlerDeps {
  outbox: OutboxRepository;
  ledger: LedgerRepository;
  events: EventsRepository;
  lookup: EventStateLookup;
  payloads: EventPayloads;
  clock: Clock;
  /** Webhook fan-out of recorded events; failures are left to the dispatcher's sweep. */
  fanOut?: EventFanOut;
  onError?: (err: unknown, context: string) => void;
  /** Most writes settled by one flush (default 500). */
  maxBatch?: number;
}

/**
 * Moves outbox entries (ledger entries and event intents written in the same atomic update as the
 * state change) to their collections, in batches: while one flush is under way, the entries of the
 * writes that finish meanwhile queue up and are moved together by the next one. A flush costs a fixed
 * number of round trips however many writes it settles (the ledger insert, in parallel with the
 * event sequence reservation, insert and fan-out; then one `$pull` per document), so the database
 * work per write falls as load rises instead of multiplying it.
 *
 * `settle` resolves once the flush that carries the job is over, so a caller that awaits it (a
 * request) answers only when its ledger entry and events are in place. It never rejects: the state
 * change has happened, and entries a failed flush leaves behind are moved later by `repair`.
 */
export class OutboxSettler {
  private queue: Array<{ job: SettleJob; done: () => void }> = [];
  private draining: Promise<void> | null = null;
  private readonly maxBatch: number;

  constructor(private readonly deps: OutboxSettlerDeps) {
    this.maxBatch = deps.maxBatch ?? 500;
  }

  settle(job: SettleJob): Promise<void> {
    if (job.ledger.length === 0 && job.events.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.queue.push({ job, done: resolve });
      this.draining ??= this.drain();
    });
  }

  /** Resolves when nothing is queued or being flushed. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Moves entries written before `olderThan` and left in outboxes (payloads from the current state). Returns how many. */
  async repair(olderThan: Date): Promise<number> {
    const stranded = await this.deps.outbox.stranded(olderThan);
    const jobs: SettleJob[] = stranded.map((s) => ({
      owner: s.owner,
      licenseId: s.licenseId,
      // The resulting total of an entry moved after a crash is not known.
      ledger: s.ledger.map((entry) => ({ licenseId: s.licenseId, entry, totalAfter: null })),
      events: s.events,
      state: {},
    }));
    await this.flush(jobs, true);
    return jobs.reduce((n, j) => n + j.ledger.length + j.events.length, 0);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.flush(batch.map((b) => b.job), false);
        for (const b of batch) b.done();
      }
    } finally {
      this.draining = null;
    }
  }

  /** One flush; with `strict`, a failure is thrown (the repair step), otherwise reported. */
  private async flush(jobs: SettleJob[], strict: boolean): Promise<void> {
    if (jobs.length === 0) return;
    const [ledger, events] = await Promise.allSettled([this.deps.ledger.insertMoves(jobs.flatMap((j) => j.ledger)), this.recordEvents(jobs)]);
    const moved = new Map<string, { owner: OutboxOwner; entryIds: string[] }>();
    for (const job of jobs) {
      const key = 'licenseId' in job.owner ? `l${job.owner.licenseId}` : `d${job.owner.deviceId}`;
      const ids = [...(ledger.status === 'fulfilled' ? job.ledger.map((m) => m.entry.id) : []), ...(events.status === 'fulfilled' ? job.events.map((e) => e.id) : [])];
      const existing = moved.get(key);
      if (existing) existing.entryIds.push(...ids);
      else moved.set(key, { owner: job.owner, entryIds: ids });
    }
    const failures: unknown[] = [ledger, events].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    try {
      await this.deps.outbox.remove([...moved.values()]);
    } catch (err) {
      // Moved entries left in an outbox are moved again by `repair`: the ids make that a no-op.
      failures.push(err);
    }
    if (failures.length === 0) return;
    if (strict) throw failures[0];
    for (const err of failures) this.deps.onError?.(err, 'settling outbox entries');
  }

  /** Builds the events of the jobs' intents, records them in order, and fans out the new ones. */
  private async recordEvents(jobs: SettleJob[]): Promise<void> {
    const licenses = new Map<number, License | null>();
    const devices = new Map<string, Device | null>();
    const recorded: RecordedEvent[] = [];
    for (const job of jobs) {
      for (const entry of job.events) {
        const intent = entry.event;
        const license = job.state.license ?? (await memo(licenses, job.licenseId, () => this.deps.lookup.license(intent.accountId, job.licenseId)));
        let device = job.state.device ?? null;
        if ('activationId' in intent && device?.activationId !== intent.activationId) {
          device = await memo(devices, intent.activationId, () => this.deps.lookup.deviceByActivationId(intent.activationId));
        }
        for (const event of this.deps.payloads.build(intent, { licenseId: job.licenseId, license, device, now: this.deps.clock.now() })) {
          recorded.push({
            id: event.idSuffix === '' ? entry.id : `${entry.id}:${event.idSuffix}`,
            accountId: intent.accountId,
            type: event.type,
            subject: event.subject,
            data: event.data,
            createdAt: new Date(entry.at),
          });
        }
      }
    }
    if (recorded.length === 0) return;
    const { fanOut } = this.deps;
    const [first, subscribersOf] = await Promise.all([
      this.deps.events.reserveSeqs(recorded.length),
      fanOut ? fanOut.subscribersOf(recorded.map((e) => e.accountId)) : () => [],
    ]);
    const subscribers = new Map(recorded.map((e) => [e.id, subscribersOf(e)]));
    // An event nobody subscribes to is recorded as fanned out already: a subscription made after the
    // read above has a later creation time than the event, so it would not match it anyway.
    const fresh = await this.deps.events.insertMany(recorded.map((e, i) => ({ ...e, seq: first + i, fannedOut: subscribers.get(e.id)!.length === 0 })));
    const toDeliver = fresh.filter((e) => subscribers.get(e.id)!.length > 0).map((event) => ({ event, subscribers: subscribers.get(event.id)! }));
    if (toDeliver.length > 0 && fanOut) {
      await fanOut.deliver(toDeliver).catch((err: unknown) => this.deps.onError?.(err, 'fanning out events'));
    }
  }
}

/** The value cached under `key`, or looked up once and cached. */
async function memo<K, V>(cache: Map<K, V>, key: K, lookup: () => Promise<V>): Promise<V> {
  if (!cache.has(key)) cache.set(key, await lookup());
  return cache.get(key)!;
}
