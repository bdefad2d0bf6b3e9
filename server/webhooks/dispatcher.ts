import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { WebhookService } from '../domain/webhooks.js';
import type { Logger } from '../logger.js';
import { postJson, type SendResult } from './sender.js';
import { signatureHeaders } from './signing.js';
import type { EventsPort, WebhookDeliveriesPort, WebhookDelivery, WebhookSubscriptionsPort } from '../domain/ports.js';

export interface DispatcherOptions {
  /** Attempts per delivery before it is marked failed (and the subscription unhealthy). */
  maxAttempts: number;
  /** Delay after the first failed attempt; each further one is 3 times longer (up to retryMaxDelayMs), ±20 % jitter. */
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** Per-attempt timeout (10 s). */
  timeoutMs: number;
  /** How often an idle worker looks for due deliveries (and pending events are fanned out). */
  pollIntervalMs: number;
  /** Parallel attempts per dispatcher. */
  concurrency: number;
  allowPrivateTargets: boolean;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  // 10 attempts: 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min, 2 h, 6 h, then 12 h twice: about 33 h (≥ 26 h with jitter).
  maxAttempts: 10,
  retryBaseMs: 30_000,
  retryMaxDelayMs: 12 * 3600_000,
  timeoutMs: 10_000,
  pollIntervalMs: 1000,
  concurrency: 4,
  allowPrivateTargets: false,
};

/** The delay before the attempt after `attemptsMade` failed ones: exponential, capped, with ±20 % jitter. */
export function retryDelayMs(attemptsMade: number, options: Pick<DispatcherOptions, 'retryBaseMs' | 'retryMaxDelayMs'>, random: () => number = Math.random): number {
  const base = Math.min(options.retryBaseMs * 3 ** Math.max(attemptsMade - 1, 0), options.retryMaxDelayMs);
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface DispatcherDeps {
  deliveries: WebhookDeliveriesPort;
  subscriptions: WebhookSubscriptionsPort;
  events: EventsPort;
  webhooks: WebhookService;
  clock: Clock;
  logger: Logger;
  options: DispatcherOptions;
  send?: typeof postJson;
}

/**
 * Delivers webhook deliveries: workers claim due deliveries with a lease (an atomic
 * `findOneAndUpdate`), so several dispatchers (server instances) on one database never make the
 * same attempt at once; a delivery waits while an earlier one of its lane (subscription + activation
 * or license) is pending, so each receiver sees one subject's events in order. A maintenance step
 * fans out events not yet fanned out.
 */
export class WebhookDispatcher {
  readonly id = randomUUID();
  private running = false;
  private workers: Promise<void>[] = [];
  private wake = new Set<() => void>();
  private readonly send: typeof postJson;

  constructor(private readonly deps: DispatcherDeps) {
    this.send = deps.send ?? postJson;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = [this.maintenanceLoop(), ...Array.from({ length: this.deps.options.concurrency }, () => this.workerLoop())];
  }

  /** Stops claiming; waits for attempts in flight. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wake) wake();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  private logError(err: unknown, what: string): void {
    this.deps.logger.error({ err: { message: (err as Error).message } }, what);
  }

  /**
   * One maintenance pass: fan out pending events. (Entries left in outboxes by a crash are moved by
   * the outbox repair job, server/outbox-repair.ts, which runs whether or not the dispatcher does.)
   */
  async maintain(): Promise<void> {
    await this.deps.webhooks.fanOutPending();
  }

  private async maintenanceLoop(): Promise<void> {
    while (this.running) {
      try {
        await this.maintain();
      } catch (err) {
        this.logError(err, 'webhook maintenance failed');
      }
      await this.sleep(this.deps.options.pollIntervalMs);
    }
  }

  private async workerLoop(): Promise<void> {
    while (this.running) {
      let claimed: WebhookDelivery | null = null;
      try {
        claimed = await this.deps.deliveries.claim(this.id, this.deps.clock.now(), this.deps.options.timeoutMs + 30_000);
        if (claimed) await this.attempt(claimed);
      } catch (err) {
        this.logError(err, 'webhook delivery attempt failed');
      }
      if (!claimed) await this.sleep(this.deps.options.pollIntervalMs);
    }
  }

  /** Makes one attempt of a claimed delivery (or waits for its lane, or cancels it when its subscription is gone). */
  private async attempt(delivery: WebhookDelivery): Promise<void> {
    const { deliveries, subscriptions, events, webhooks, clock, options } = this.deps;
    if (await deliveries.earlierPending(delivery)) {
      await deliveries.postpone(delivery, this.id, new Date(clock.now().getTime() + Math.min(options.pollIntervalMs, 250)));
      return;
    }
    const subscription = await subscriptions.getForDelivery(delivery.subscriptionId);
    const event = await events.get(delivery.eventId);
    if (!subscription || !event) {
      await deliveries.cancel(delivery, clock.now());
      return;
    }
    if (!subscription.active) {
      await deliveries.postpone(delivery, this.id, new Date(clock.now().getTime() + Math.max(options.pollIntervalMs, 5000)));
      return;
    }
    const body = JSON.stringify({ event: event.type, data: event.data, triggeredAt: event.createdAt.toISOString() });
    const sentAt = clock.now();
    const headers = signatureHeaders(subscription.signatureScheme, webhooks.openSecret(subscription.sealedSecret), event.id, sentAt, body);
    const result: SendResult = await this.send(subscription.url, body, headers, { timeoutMs: options.timeoutMs, allowPrivateTargets: options.allowPrivateTargets });
    const ok = result.error === null;
    const made = delivery.attemptCount + 1;
    const status = ok ? 'delivered' : made >= options.maxAttempts ? 'failed' : 'pending';
    const now = clock.now();
    const recorded = await deliveries.recordAttempt(
      delivery,
      this.id,
      {
        attempt: { at: sentAt, statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error },
        status,
        nextAttemptAt: status === 'pending' ? new Date(now.getTime() + retryDelayMs(made, options)) : null,
      },
      now,
    );
    if (!recorded) return;
    if (status === 'failed') {
      await subscriptions.setHealthy(subscription.id, false);
      this.deps.logger.warn({ subscriptionId: subscription.id, deliveryId: delivery.id }, 'webhook delivery failed after its last attempt');
    } else if (ok && !subscription.healthy) {
      await subscriptions.setHealthy(subscription.id, true);
    }
  }
}
