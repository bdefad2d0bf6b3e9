import type { EventOutbox } from './domain/event-outbox.js';
import type { Logger } from './logger.js';

export interface OutboxRepairOptions {
  /** How often a pass runs (ms). */
  intervalMs: number;
  /** Entries older than this are taken as left behind (by a crash or a failed move) and moved. */
  afterMs: number;
}

/**
 * The repair job: moves ledger entries and events that a crash (or a failed move) left in license and
 * device outboxes, and finishes seat changes a crash left between their writes. It runs on its own, whether or not this process runs the webhook dispatcher, so
 * the ledger catches up with the counters after any crash. Any number of processes may run it: moves
 * are idempotent (entries keep their ids).
 */
export class OutboxRepairJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private failing = false;

  constructor(
    private readonly outbox: EventOutbox,
    private readonly options: OutboxRepairOptions,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
    /** Seat changes a crash left between their writes (see DeviceService.repairSeatChanges). */
    private readonly seats?: { repairSeatChanges(olderThan: Date): Promise<number> },
  ) {}

  start(): void {
    if (!this.stopped || this.options.intervalMs <= 0) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** One pass now; resolves with how many entries it moved (and seat changes it finished). */
  async runOnce(): Promise<number> {
    const olderThan = new Date(this.now().getTime() - this.options.afterMs);
    const seats = this.seats ? await this.seats.repairSeatChanges(olderThan) : 0;
    return seats + (await this.outbox.repair(olderThan));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    try {
      const moved = await this.runOnce();
      if (moved > 0) this.logger.info({ moved }, 'outbox repair moved entries left behind');
      if (this.failing) this.logger.info('outbox repair works again');
      this.failing = false;
    } catch (err) {
      // Once per episode: a database that is away fails every pass until it is back.
      if (!this.failing) this.logger.warn({ err: { message: (err as Error).message } }, 'outbox repair failed (retried every interval)');
      this.failing = true;
    }
  }
}
