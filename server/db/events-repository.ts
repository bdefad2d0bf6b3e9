import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { DomainEvent, EventSink, RecordedEvent } from '../domain/events.js';
import type { Models } from './models.js';

interface EventDocument extends DomainEvent {
  _id: string;
  createdAt: Date;
}

/** The default event sink: appends each event to the `events` collection (the webhooks dispatcher reads it). */
export class EventsRepository implements EventSink {
  constructor(
    private readonly models: Models,
    private readonly clock: Clock,
  ) {}

  async record(event: DomainEvent): Promise<void> {
    const doc: EventDocument = { _id: randomUUID(), accountId: event.accountId, type: event.type, subject: event.subject, data: event.data, createdAt: this.clock.now() };
    await this.models.Event.collection.insertOne(doc as never);
  }

  /** An account's events, oldest first (optionally about one subject). */
  async list(accountId: number, filter: { subject?: string; type?: string } = {}): Promise<RecordedEvent[]> {
    const docs = await this.models.Event.find({ accountId, ...filter }).sort({ createdAt: 1, _id: 1 }).lean<EventDocument[]>();
    return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }));
  }
}
