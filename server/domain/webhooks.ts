import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';
import type { SubscriberMatcher } from './outbox-settler.js';
import { DomainError } from './errors.js';
import type { SecretBox } from './secrets.js';
import type { EventsPort, SequencedEvent, SignatureScheme, SubscriptionChanges, WebhookDeliveriesPort, WebhookDelivery, WebhookSubscription, WebhookSubscriptionsPort } from './ports.js';

export interface NewSubscription {
  url: string;
  events: string[];
  active?: boolean | undefined;
  signatureScheme?: SignatureScheme | undefined;
}

/** Checks a target URL; resolves to the reason it is refused, or null. */
export type TargetPolicy = (url: string) => Promise<string | null>;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Webhook subscriptions of an account and their deliveries. Secrets are generated here, returned
 * once (on creation and rotation) and stored sealed: signing needs them back.
 */
export class WebhookService {
  constructor(
    private readonly subscriptions: WebhookSubscriptionsPort,
    private readonly deliveries: WebhookDeliveriesPort,
    private readonly events: EventsPort,
    private readonly box: SecretBox,
    private readonly targets: TargetPolicy,
    private readonly clock: Clock,
  ) {}

  private async checkTarget(url: string): Promise<void> {
    const reason = await this.targets(url);
    if (reason !== null) throw new DomainError('invalid_webhook_url', reason, { field: 'url' });
  }

  private async existing(accountId: number, id: string): Promise<WebhookSubscription> {
    const found = await this.subscriptions.get(accountId, id);
    if (!found) throw new DomainError('webhook_not_found', 'Webhook subscription not found');
    return found;
  }

  async create(accountId: number, input: NewSubscription): Promise<{ subscription: WebhookSubscription; secret: string }> {
    await this.checkTarget(input.url);
    const now = this.clock.now();
    const secret = newWebhookSecret();
    const subscription: WebhookSubscription = {
      id: `wh_${randomBytes(16).toString('hex')}`,
      accountId,
      url: input.url,
      events: [...new Set(input.events)],
      active: input.active ?? true,
      signatureScheme: input.signatureScheme ?? 'standard-webhooks',
      healthy: true,
      createdAt: now,
      updatedAt: now,
    };
    await this.subscriptions.insert(subscription, this.box.seal(secret));
    return { subscription, secret };
  }

  list(accountId: number): Promise<WebhookSubscription[]> {
    return this.subscriptions.list(accountId);
  }

  get(accountId: number, id: string): Promise<WebhookSubscription> {
    return this.existing(accountId, id);
  }

  async update(accountId: number, id: string, changes: SubscriptionChanges): Promise<WebhookSubscription> {
    await this.existing(accountId, id);
    if (changes.url !== undefined) await this.checkTarget(changes.url);
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as SubscriptionChanges;
    if (defined.events) defined.events = [...new Set(defined.events)];
    const updated = await this.subscriptions.update(accountId, id, defined, this.clock.now());
    if (!updated) throw new DomainError('webhook_not_found', 'Webhook subscription not found');
    return updated;
  }

  async delete(accountId: number, id: string): Promise<void> {
    if (!(await this.subscriptions.delete(accountId, id))) throw new DomainError('webhook_not_found', 'Webhook subscription not found');
    await this.deliveries.cancelAllOf(id, this.clock.now());
  }

  async rotateSecret(accountId: number, id: string): Promise<{ subscription: WebhookSubscription; secret: string }> {
    await this.existing(accountId, id);
    const secret = newWebhookSecret();
    const subscription = await this.subscriptions.update(accountId, id, { sealedSecret: this.box.seal(secret) }, this.clock.now());
    if (!subscription) throw new DomainError('webhook_not_found', 'Webhook subscription not found');
    return { subscription, secret };
  }

  async listDeliveries(accountId: number, id: string, limit: number): Promise<WebhookDelivery[]> {
    await this.existing(accountId, id);
    return this.deliveries.list(accountId, id, limit);
  }

  async redeliver(accountId: number, id: string, deliveryId: string): Promise<WebhookDelivery> {
    await this.existing(accountId, id);
    const delivery = await this.deliveries.redeliver(accountId, id, deliveryId, this.clock.now());
    if (!delivery) throw new DomainError('webhook_delivery_not_found', 'Webhook delivery not found');
    return delivery;
  }

  /**
   * Which subscriptions want an event: the active subscriptions to its type that existed when it
   * happened. One read serves any number of events of the given accounts.
   */
  async subscribersOf(accountIds: number[]): Promise<SubscriberMatcher<WebhookSubscription>> {
    const subscriptions = accountIds.length === 0 ? [] : await this.subscriptions.activeOf([...new Set(accountIds)]);
    return {
      anyFor: (accountId) => subscriptions.some((s) => s.accountId === accountId),
      forEvent: (event) => subscriptions.filter((s) => s.accountId === event.accountId && s.events.includes(event.type) && s.createdAt.getTime() <= event.createdAt.getTime()),
    };
  }

  /** Creates the deliveries of recorded events to their subscribers (idempotent), then marks the events fanned out. */
  async deliver(fannedOut: Array<{ event: SequencedEvent; subscribers: WebhookSubscription[] }>): Promise<void> {
    if (fannedOut.length === 0) return;
    const pairs = fannedOut.flatMap(({ event, subscribers }) => subscribers.map((subscription) => ({ event, subscription })));
    if (pairs.length > 0) await this.deliveries.createFor(pairs, this.clock.now());
    await this.events.markFannedOut(fannedOut.map(({ event }) => event.id));
  }

  /** Fans events out to their subscribers: a fixed number of round trips however many events there are. */
  async fanOut(events: SequencedEvent[]): Promise<void> {
    const subscribers = await this.subscribersOf(events.map((e) => e.accountId));
    await this.deliver(events.map((event) => ({ event, subscribers: subscribers.forEvent(event) })));
  }

  /** Fans out events recorded but not yet fanned out (a crash in between). Returns how many. */
  async fanOutPending(limit = 200): Promise<number> {
    const pending = await this.events.pendingFanOut(limit);
    await this.fanOut(pending);
    return pending.length;
  }

  /** The plaintext secret of a subscription (to sign a delivery). */
  openSecret(sealed: string): string {
    return this.box.open(sealed);
  }
}
