import type { Clock } from './clock.js';
import { completeLedgerEntries } from './ledger-entries.js';
import { isAboutChangedMeter, type EventOutboxEntry, type EventPayloads, type RecordedEvent } from './events.js';
import type { Device, License } from './types.js';
import type { EventsPort, LedgerMove, LedgerPort, OutboxOwner, OutboxPort, SequencedEvent } from './ports.js';

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
  /**
   * The state the write returned (event payloads are built from it); looked up when missing. With
   * `narrowed`, the license holds only the meter the write changed: payloads of consumptions (which
   * show that meter) use it, others are built from the license looked up.
   */
  state: { license?: License | null | undefined; device?: Device | null | undefined; narrowed?: boolean | undefined };
}

/** Who wants which event (from one read of the subscriptions of some accounts). */
export interface SubscriberMatcher<S> {
  /** Whether the account has any active subscription. */
  anyFor(accountId: number): boolean;
  /** The subscriptions that want this event. */
  forEvent(event: RecordedEvent): S[];
}

/** Who wants an event, and the deliveries to them (see WebhookService). */
export interface EventFanOut {
  subscribersOf(accountIds: number[]): Promise<SubscriberMatcher<unknown>>;
  deliver(fannedOut: Array<{ event: SequencedEvent; subscribers: unknown[] }>): Promise<void>;
}

export interface OutboxSettlerDeps {
  outbox: OutboxPort;
  ledger: LedgerPort;
  events: EventsPort;
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

  /** Moves entries written before `olderThan` and left in outboxes (payloads from the current state). Returns how many. */
  async repair(olderThan: Date): Promise<number> {
    const stranded = await this.deps.outbox.stranded(olderThan);
    const jobs: SettleJob[] = stranded.map((s) => ({
      owner: s.owner,
      licenseId: s.licenseId,
      // Completed by the same rule as right after a write, from the license as read with the entries.
      ledger: s.license ? completeLedgerEntries(s.license, s.ledger) : [],
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
    // Jobs of concurrent writes to one license carry the same pending entries: each is inserted once.
    const moves = [...new Map(jobs.flatMap((j) => j.ledger).map((m) => [m.entry.id, m])).values()];
    const [ledger, events] = await Promise.allSettled([this.deps.ledger.insertMoves(moves), this.recordEvents(jobs)]);
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

  /**
   * Builds the events of the jobs' intents that someone subscribes to, records them in order, and
   * creates their deliveries. Events nobody subscribes to are not kept: a subscription receives the
   * events that happen after it was made, and one made after the subscriptions are read here is
   * later than every event of the flush (each was written before its settle began).
   */
  private async recordEvents(jobs: SettleJob[]): Promise<void> {
    const { fanOut } = this.deps;
    const intents = jobs.flatMap((job) => job.events.map((entry) => ({ job, entry })));
    if (intents.length === 0 || !fanOut) return;
    const subscribers = await fanOut.subscribersOf(intents.map(({ entry }) => entry.event.accountId));
    const licenses = new Map<number, License | null>();
    const devices = new Map<string, Device | null>();
    const wanted: Array<{ event: RecordedEvent; subscribers: unknown[] }> = [];
    for (const { job, entry } of intents) {
      const intent = entry.event;
      if (!subscribers.anyFor(intent.accountId)) continue;
      const returned = job.state.narrowed && !isAboutChangedMeter(intent) ? undefined : job.state.license;
      const license = returned ?? (await memo(licenses, job.licenseId, () => this.deps.lookup.license(intent.accountId, job.licenseId)));
      let device = job.state.device ?? null;
      if ('activationId' in intent && device?.activationId !== intent.activationId) {
        device = await memo(devices, intent.activationId, () => this.deps.lookup.deviceByActivationId(intent.activationId));
      }
      for (const built of this.deps.payloads.build(intent, { licenseId: job.licenseId, license, device, now: this.deps.clock.now(), at: new Date(entry.at) })) {
        const event: RecordedEvent = {
          id: built.idSuffix === '' ? entry.id : `${entry.id}:${built.idSuffix}`,
          accountId: intent.accountId,
          type: built.type,
          subject: built.subject,
          data: built.data,
          createdAt: new Date(entry.at),
        };
        const to = subscribers.forEvent(event);
        if (to.length > 0) wanted.push({ event, subscribers: to });
      }
    }
    if (wanted.length === 0) return;
    const first = await this.deps.events.reserveSeqs(wanted.length);
    const fresh = new Map((await this.deps.events.insertMany(wanted.map(({ event }, i) => ({ ...event, seq: first + i, fannedOut: false })))).map((e) => [e.id, e]));
    const toDeliver = wanted.filter(({ event }) => fresh.has(event.id)).map(({ event, subscribers: to }) => ({ event: fresh.get(event.id)!, subscribers: to }));
    await fanOut.deliver(toDeliver).catch((err: unknown) => this.deps.onError?.(err, 'fanning out events'));
  }
}

/** The value cached under `key`, or looked up once and cached. */
async function memo<K, V>(cache: Map<K, V>, key: K, lookup: () => Promise<V>): Promise<V> {
  if (!cache.has(key)) cache.set(key, await lookup());
  return cache.get(key)!;
}
