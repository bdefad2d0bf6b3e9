import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { DomainEvent, EventSink, RecordedEvent } from '../domain/events.js';
import type { Models } from './models.js';

interface EventDocument extends DomainEvent {
  _id: string;
  createdAt: Date;
  seq?: number | null;
  fannedOut?: boolean | null;
}

/** A recorded event with its recording order. */
export interface SequencedEvent extends RecordedEvent {
  seq: number;
}

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number }).code === 11000 || /E11000/.test(String((err as Error).message));
}

function toEvent({ _id, seq, fannedOut: _f, ...rest }: EventDocument): SequencedEvent {
  return { id: _id, ...rest, seq: seq ?? 0 };
}

/** The `events` collection: every recorded event, waiting to be fanned out to webhook subscriptions. */
export class EventsRepository implements EventSink {
  constructor(
    private readonly models: Models,
    private readonly clock: Clock,
  ) {}

  private async nextSeq(): Promise<number> {
    const doc = await this.models.Counter.findOneAndUpdate({ _id: 'events' }, { $inc: { value: 1 } }, { upsert: true, returnDocument: 'after' }).lean<{ value: number }>();
    return doc!.value;
  }

  async record(event: DomainEvent): Promise<void> {
    await this.insert({ id: randomUUID(), ...event, createdAt: this.clock.now() });
  }

  /** Inserts the event once: a second insert of the same id (a repaired outbox entry) is a no-op. Returns whether it was new. */
  async insert(event: RecordedEvent): Promise<SequencedEvent | null> {
    const doc: EventDocument = {
      _id: event.id,
      accountId: event.accountId,
      type: event.type,
      subject: event.subject,
      data: event.data,
      createdAt: event.createdAt,
      seq: await this.nextSeq(),
      fannedOut: false,
    };
    try {
      await this.models.Event.collection.insertOne(doc as never);
      return toEvent(doc);
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
  }

  async get(id: string): Promise<SequencedEvent | null> {
    const doc = await this.models.Event.findOne({ _id: id }).lean<EventDocument>();
    return doc ? toEvent(doc) : null;
  }

  /** Events not yet fanned out to subscriptions, oldest first. */
  async pendingFanOut(limit: number): Promise<SequencedEvent[]> {
    const docs = await this.models.Event.find({ fannedOut: false }).sort({ seq: 1 }).limit(limit).lean<EventDocument[]>();
    return docs.map(toEvent);
  }

  async markFannedOut(id: string): Promise<void> {
    await this.models.Event.updateOne({ _id: id }, { $set: { fannedOut: true } });
  }

  /** An account's events, oldest first (optionally about one subject or of one type). */
  async list(accountId: number, filter: { subject?: string; type?: string } = {}): Promise<RecordedEvent[]> {
    const docs = await this.models.Event.find({ accountId, ...filter }).sort({ seq: 1, createdAt: 1, _id: 1 }).lean<EventDocument[]>();
    return docs.map(({ _id, seq: _s, fannedOut: _f, ...rest }) => ({ id: _id, ...rest }));
  }
}
