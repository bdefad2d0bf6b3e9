import type { LedgerRetention, RetentionPass } from './domain/ledger-retention.js';
import type { Logger } from './logger.js';
import { PeriodicJob } from './periodic-job.js';

/**
 * The ledger retention job (LEDGER_RETENTION_DAYS, every LEDGER_RETENTION_INTERVAL_MS): summarises
 * the entries older than the retention into rollups and deletes them (see domain/ledger-retention.ts).
 * Any number of processes may run it: rollups are written once and the mark only moves forward.
 */
export class LedgerRetentionJob {
  private readonly job: PeriodicJob;

  constructor(
    private readonly retention: LedgerRetention,
    intervalMs: number,
    logger: Logger,
  ) {
    this.job = new PeriodicJob({
      name: 'ledger retention',
      intervalMs: retention.horizon() === null ? 0 : intervalMs,
      logger,
      pass: async () => {
        const pass = await this.runOnce();
        if (pass.deleted > 0) logger.info({ rollups: pass.rollups, deleted: pass.deleted, summarisedBefore: pass.summarisedBefore }, 'ledger retention summarised old entries');
      },
    });
  }

  start(): void {
    this.job.start();
  }

  /** One pass now. */
  runOnce(): Promise<RetentionPass> {
    return this.retention.run();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }
}
