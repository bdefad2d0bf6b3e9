import type { Logger } from './logger.js';

export interface PeriodicJobOptions {
  /** Named in its log lines (`<name> failed (retried every interval)`, `<name> works again`). */
  name: string;
  /** How often a pass runs (ms); 0: never in this process. */
  intervalMs: number;
  logger: Logger;
  /** One pass; a failure is logged once per episode (a database away fails every pass until it is back). */
  pass: () => Promise<void>;
}

/**
 * A job that runs a pass now and then every interval after the previous pass ended, until stopped
 * (stop waits for a running pass). Its timer does not keep the process alive.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private failing = false;

  constructor(private readonly options: PeriodicJobOptions) {}

  start(): void {
    if (!this.stopped || this.options.intervalMs <= 0) return;
    this.stopped = false;
    this.schedule(0);
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
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const { name, logger } = this.options;
    try {
      await this.options.pass();
      if (this.failing) logger.info(`${name} works again`);
      this.failing = false;
    } catch (err) {
      if (!this.failing) logger.warn({ err: { message: (err as Error).message } }, `${name} failed (retried every interval)`);
      this.failing = true;
    }
  }
}
