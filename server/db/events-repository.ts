import type { DomainEvent, RecordedEvent } from '../domain/events.js';
import { insertManyIgnoringDuplicates } from './duplicate-keys.js';
import type { Models } from './models.js';
import type { EventsPort, SequencedEvent } from '../domain/ports.js';

interface EventDocument extends DomainEvent {
  _id: string;
  createdAt: Date;
  seq?: number | null;
  fannedOut?: boolean | null;
}

function toEvent({ _id, seq, fannedOut: _f, ...rest }: EventDocument): SequencedEvent {
  return { id: _id, ...rest, seq: seq ?? 0 };
}

/** The `events` collection: every recorded event, waiting to be fanned out to webhook subscriptions. */
export class EventsRepository implements EventsPort {
  constructor(private readonly models: Models) {}

  /** Reserves `count` consecutive sequence numbers (the recording order of events); returns the first. */
  async reserveSeqs(count: number): Promise<number> {
    const doc = await this.models.Counter.findOneAndUpdate({ _id: 'events' }, { $inc: { value: count } }, { upsert: true, returnDocument: 'after' }).lean<{ value: number }>();
    return doc!.value - count + 1;
  }

  /**
   * Inserts events (sequence numbers reserved by `reserveSeqs`) in one round trip. Events already
   * present (same id: an outbox entry moved twice) are left as they are. Returns the new ones.
   */
  async insertMany(events: Array<SequencedEvent & { fannedOut: boolean }>): Promise<SequencedEvent[]> {
    const docs: EventDocument[] = events.map((event) => ({
      _id: event.id,
      accountId: event.accountId,
      type: event.type,
      subject: event.subject,
      data: event.data,
      createdAt: event.createdAt,
      seq: event.seq,
      fannedOut: event.fannedOut,
    }));
    const duplicates = await insertManyIgnoringDuplicates(this.models.Event.collection, docs);
    return docs.filter((_, i) => !duplicates.has(i)).map(toEvent);
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

  async markFannedOut(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.models.Event.collection.updateMany({ _id: { $in: ids } } as never, { $set: { fannedOut: true } });
  }

  /** An account's events, oldest first (optionally about one subject or of one type). */
  async list(accountId: number, filter: { subject?: string; type?: string } = {}): Promise<RecordedEvent[]> {
    const docs = await this.models.Event.find({ accountId, ...filter }).sort({ seq: 1, createdAt: 1, _id: 1 }).lean<EventDocument[]>();
    return docs.map(({ _id, seq: _s, fannedOut: _f, ...rest }) => ({ id: _id, ...rest }));
  }
}
