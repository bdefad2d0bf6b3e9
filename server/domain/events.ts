import type { ConsumptionPeriod } from './periods.js';
import type { Device, License } from './types.js';

/**
 * Domain events (`activation.created`, `activation.updated`, `activation.deleted`, `license.updated`,
 * `consumption.added`, `meter-attribute.limit-reached`, `consumption.threshold-reached`) recorded for webhook delivery. `data` is the
 * event's payload, built by the EventPayloads the composition root supplies (the Web API v3 shapes of
 * http/v3/event-payloads.ts: e.g. the v3 activation object);
 * `subject` is what the event is about (an activation id, or `license:<id>`): deliveries of one
 * subject to one subscription are made in order.
 */
export interface DomainEvent {
  accountId: number;
  type: string;
  data: unknown;
  subject: string;
}

/** An event as stored. */
export interface RecordedEvent extends DomainEvent {
  id: string;
  createdAt: Date;
}

export const EVENT_TYPES = [
  'activation.created',
  'activation.updated',
  'activation.deleted',
  'license.updated',
  'consumption.added',
  'meter-attribute.limit-reached',
  'consumption.threshold-reached',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Which seat a consumption used (as the request named it). */
export type SeatRef = { hardwareId: string } | { activationId: string };

/**
 * What a state change raises, recorded in the changed document's outbox in the same write. It names
 * what the event is about, not its payload: the payload is built from the state after the write
 * (by the request that made it) or from the current state (by the repair step after a crash).
 */
export type EventIntent =
  | { type: 'activation.created' | 'activation.updated' | 'activation.deleted'; accountId: number; activationId: string }
  | { type: 'license.updated'; accountId: number }
  | {
      type: 'consumption.added';
      accountId: number;
      scope: 'license' | 'feature';
      featureCode: string | null;
      amount: number;
      seat: SeatRef | null;
    }
  | {
      /** A consumption reached an alert threshold of its meter (decided by its guarded write: see consumption-alerts.ts). */
      type: 'consumption.threshold-reached';
      accountId: number;
      scope: 'license' | 'feature';
      featureCode: string | null;
      /** The threshold, in percent of `limit`. */
      percent: number;
      /** The meter's `max` when the write applied. */
      limit: number;
      /** The total at which the threshold is reached. */
      thresholdUses: number;
      period: ConsumptionPeriod | null;
      /** The end of the period the threshold was reached in (null without periodic reset). */
      periodEndsAt: Date | null;
    };

/** Whether the intent's payload shows only the meter its write changed (the write's narrowed reply suffices to build it). */
export function isAboutChangedMeter(intent: EventIntent): boolean {
  return intent.type === 'consumption.added' || intent.type === 'consumption.threshold-reached';
}

/** An outbox entry carrying an event intent (the license's or the device's document `outbox`). */
export interface EventOutboxEntry {
  id: string;
  kind: 'event';
  at: Date;
  event: EventIntent;
}

/** The state an event's payload is built from. */
export interface EventState {
  licenseId: number;
  license: License | null;
  /** The device the intent names (looked up when not given). */
  device: Device | null;
  now: Date;
  /** When the change was made (its outbox entry's time). */
  at: Date;
}

/** One event built from an intent (`idSuffix` distinguishes several events of one intent). */
export interface BuiltEvent {
  idSuffix: string;
  type: EventType;
  subject: string;
  data: unknown;
}

/** Turns an intent and the state into the events to record (dialect payloads live outside the domain). */
export interface EventPayloads {
  build(intent: EventIntent, state: EventState): BuiltEvent[];
}
