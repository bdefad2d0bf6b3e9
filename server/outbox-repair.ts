import type { EventOutbox } from './domain/event-outbox.js';
import type { Logger } from './logger.js';
import { PeriodicJob } from './periodic-job.js';

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
  private readonly job: PeriodicJob;

  constructor(
    private readonly outbox: EventOutbox,
    private readonly options: OutboxRepairOptions,
    logger: Logger,
    private readonly now: () => Date = () => new Date(),
    /** Seat changes a crash left between their writes (see DeviceService.repairSeatChanges). */
    private readonly seats?: { repairSeatChanges(olderThan: Date): Promise<number> },
  ) {
    this.job = new PeriodicJob({
      name: 'outbox repair',
      intervalMs: options.intervalMs,
      logger,
      pass: async () => {
        const moved = await this.runOnce();
        if (moved > 0) logger.info({ moved }, 'outbox repair moved entries left behind');
      },
    });
  }

  start(): void {
    this.job.start();
  }

  /** One pass now; resolves with how many entries it moved (and seat changes it finished). */
  async runOnce(): Promise<number> {
    const olderThan = new Date(this.now().getTime() - this.options.afterMs);
    const seats = this.seats ? await this.seats.repairSeatChanges(olderThan) : 0;
    return seats + (await this.outbox.repair(olderThan));
  }

  stop(): Promise<void> {
    return this.job.stop();
  }
}
