/**
 * Domain events (`activation.created`, `activation.updated`, `activation.deleted`, ...) recorded for
 * webhook delivery. `data` is the event's payload as the dialect that raised it shows it (e.g. the
 * Web API v3 activation object); `subject` is what the event is about (e.g. the activation id).
 */
export interface DomainEvent {
  accountId: number;
  type: string;
  data: unknown;
  subject: string;
}

export interface EventSink {
  record(event: DomainEvent): Promise<void>;
}

/** An event as stored. */
export interface RecordedEvent extends DomainEvent {
  id: string;
  createdAt: Date;
}
