import { createHash } from 'node:crypto';
import { insertManyIgnoringDuplicates } from './duplicate-keys.js';
import type { Models } from './models.js';
import type { AttemptOutcome, SubscriptionChanges, WebhookDeliveriesPort, WebhookDelivery, WebhookSubscription, WebhookSubscriptionsPort } from '../domain/ports.js';
import type { SequencedEvent } from '../domain/ports.js';

interface SubscriptionDocument extends Omit<WebhookSubscription, 'id'> {
  _id: string;
  sealedSecret: string;
}

function toSubscription({ _id, sealedSecret: _s, ...rest }: SubscriptionDocument): WebhookSubscription {
  return { id: _id, ...rest };
}

/** Webhook subscriptions. The signing secret is stored sealed (SecretBox) and only read to sign. */
export class WebhookSubscriptionsRepository implements WebhookSubscriptionsPort {
  constructor(private readonly models: Models) {}

  async insert(subscription: WebhookSubscription, sealedSecret: string): Promise<void> {
    const { id, ...rest } = subscription;
    await this.models.WebhookSubscription.collection.insertOne({ _id: id, ...rest, sealedSecret } as never);
  }

  async get(accountId: number, id: string): Promise<WebhookSubscription | null> {
    const doc = await this.models.WebhookSubscription.findOne({ _id: id, accountId }).lean<SubscriptionDocument>();
    return doc ? toSubscription(doc) : null;
  }

  /** The subscription with its sealed secret (any account: for the dispatcher). */
  async getForDelivery(id: string): Promise<(WebhookSubscription & { sealedSecret: string }) | null> {
    const doc = await this.models.WebhookSubscription.findOne({ _id: id }).lean<SubscriptionDocument>();
    return doc ? { ...toSubscription(doc), sealedSecret: doc.sealedSecret } : null;
  }

  async list(accountId: number): Promise<WebhookSubscription[]> {
    const docs = await this.models.WebhookSubscription.find({ accountId }).sort({ createdAt: 1, _id: 1 }).lean<SubscriptionDocument[]>();
    return docs.map(toSubscription);
  }

  async update(accountId: number, id: string, changes: SubscriptionChanges & { sealedSecret?: string }, now: Date): Promise<WebhookSubscription | null> {
    const doc = await this.models.WebhookSubscription.findOneAndUpdate({ _id: id, accountId }, { $set: { ...changes, updatedAt: now } }, { returnDocument: 'after' }).lean<SubscriptionDocument>();
    return doc ? toSubscription(doc) : null;
  }

  async delete(accountId: number, id: string): Promise<boolean> {
    const res = await this.models.WebhookSubscription.deleteOne({ _id: id, accountId });
    return res.deletedCount === 1;
  }

  /** Active subscriptions of any of the accounts (to match several events against at once). */
  async activeOf(accountIds: number[]): Promise<WebhookSubscription[]> {
    const docs = await this.models.WebhookSubscription.find({ accountId: { $in: accountIds }, active: true }).lean<SubscriptionDocument[]>();
    return docs.map(toSubscription);
  }

  async setHealthy(id: string, healthy: boolean): Promise<void> {
    await this.models.WebhookSubscription.updateOne({ _id: id, healthy: !healthy }, { $set: { healthy } });
  }
}

interface DeliveryDocument extends Omit<WebhookDelivery, 'id'> {
  _id: string;
}

function toDelivery({ _id, ...rest }: DeliveryDocument): WebhookDelivery {
  return { id: _id, ...rest, attempts: rest.attempts ?? [] };
}

/** One delivery per event and subscription: its id is derived from both, so fanning out twice creates it once. */
export function deliveryId(eventId: string, subscriptionId: string): string {
  return `dlv_${createHash('sha256').update(`${eventId}\u0000${subscriptionId}`).digest('hex').slice(0, 32)}`;
}

/**
 * Webhook deliveries and their attempt log. A dispatcher claims a due delivery with one atomic
 * `findOneAndUpdate` that sets a lease (owner + expiry); only the lease holder may record the attempt,
 * so several dispatchers never make the same attempt at once. A dispatcher that dies mid-attempt
 * loses its lease when it expires, and the attempt is made again (at least once).
 */
export class WebhookDeliveriesRepository implements WebhookDeliveriesPort {
  constructor(private readonly models: Models) {}

  /** Creates the deliveries of events to subscriptions in one round trip; ones that exist already are kept. */
  async createFor(pairs: Array<{ event: SequencedEvent; subscription: Pick<WebhookSubscription, 'id'> }>, now: Date): Promise<void> {
    const docs: DeliveryDocument[] = pairs.map(({ event, subscription }) => ({
      _id: deliveryId(event.id, subscription.id),
      accountId: event.accountId,
      subscriptionId: subscription.id,
      eventId: event.id,
      eventType: event.type,
      lane: `${subscription.id}|${event.subject}`,
      seq: event.seq,
      status: 'pending',
      attemptCount: 0,
      nextAttemptAt: now,
      leaseUntil: null,
      leaseOwner: null,
      attempts: [],
      createdAt: now,
      completedAt: null,
    }));
    await insertManyIgnoringDuplicates(this.models.WebhookDelivery.collection, docs);
  }

  /** Claims the most overdue pending delivery whose lease is free or expired. */
  async claim(owner: string, now: Date, leaseMs: number): Promise<WebhookDelivery | null> {
    const doc = await this.models.WebhookDelivery.findOneAndUpdate(
      { status: 'pending', nextAttemptAt: { $lte: now }, $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }] },
      { $set: { leaseOwner: owner, leaseUntil: new Date(now.getTime() + leaseMs) } },
      { sort: { nextAttemptAt: 1, seq: 1 }, returnDocument: 'after' },
    ).lean<DeliveryDocument>();
    return doc ? toDelivery(doc) : null;
  }

  /** Is an earlier delivery of the same lane still pending (so this one must wait)? */
  async earlierPending(delivery: WebhookDelivery): Promise<boolean> {
    return (await this.models.WebhookDelivery.exists({ lane: delivery.lane, status: 'pending', seq: { $lt: delivery.seq } })) !== null;
  }

  /** Gives the lease back, with the next attempt due at `until`. */
  async postpone(delivery: WebhookDelivery, owner: string, until: Date): Promise<void> {
    await this.models.WebhookDelivery.updateOne({ _id: delivery.id, leaseOwner: owner, status: 'pending' }, { $set: { nextAttemptAt: until, leaseUntil: null, leaseOwner: null } });
  }

  /** Records an attempt if `owner` still holds the lease. Returns false when it lost it. */
  async recordAttempt(delivery: WebhookDelivery, owner: string, outcome: AttemptOutcome, now: Date): Promise<boolean> {
    const res = await this.models.WebhookDelivery.updateOne(
      { _id: delivery.id, leaseOwner: owner, status: 'pending', attemptCount: delivery.attemptCount },
      {
        $push: { attempts: outcome.attempt },
        $inc: { attemptCount: 1 },
        $set: {
          status: outcome.status,
          nextAttemptAt: outcome.nextAttemptAt,
          leaseUntil: null,
          leaseOwner: null,
          completedAt: outcome.status === 'pending' ? null : now,
        },
      },
    );
    return res.modifiedCount === 1;
  }

  async cancel(delivery: WebhookDelivery, now: Date): Promise<void> {
    await this.models.WebhookDelivery.updateOne({ _id: delivery.id, status: 'pending' }, { $set: { status: 'cancelled', nextAttemptAt: null, leaseUntil: null, leaseOwner: null, completedAt: now } });
  }

  async cancelAllOf(subscriptionId: string, now: Date): Promise<void> {
    await this.models.WebhookDelivery.updateMany({ subscriptionId, status: 'pending' }, { $set: { status: 'cancelled', nextAttemptAt: null, completedAt: now } });
  }

  async list(accountId: number, subscriptionId: string, limit: number): Promise<WebhookDelivery[]> {
    const docs = await this.models.WebhookDelivery.find({ accountId, subscriptionId }).sort({ createdAt: -1, seq: -1 }).limit(limit).lean<DeliveryDocument[]>();
    return docs.map(toDelivery);
  }

  /** Makes the delivery pending again, due now, with a fresh attempt count (its log is kept). */
  async redeliver(accountId: number, subscriptionId: string, id: string, now: Date): Promise<WebhookDelivery | null> {
    const doc = await this.models.WebhookDelivery.findOneAndUpdate(
      { _id: id, accountId, subscriptionId },
      { $set: { status: 'pending', attemptCount: 0, nextAttemptAt: now, completedAt: null } },
      { returnDocument: 'after' },
    ).lean<DeliveryDocument>();
    return doc ? toDelivery(doc) : null;
  }
}
