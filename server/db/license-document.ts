import type { License, LicenseFeature, LedgerEntry, Seat } from '../domain/types.js';
import type { MeterState } from '../domain/meter.js';
import type { EventOutboxEntry } from '../domain/events.js';
import type { SeatLocator } from './license-meters.js';
import { randomUUID } from 'node:crypto';

/** What a license document holds besides the domain fields. */
export interface OutboxEntry {
  id: string;
  kind: 'ledger';
  at: Date;
  /**
   * The ledger entry, complete but for what only the write decides: the resulting total, and (when
   * null) the period and the device, filled in by completeLedgerEntries (domain/ledger-completion.ts)
   * from the license as the write left it.
   */
  ledger: Omit<LedgerEntry, 'totalAfter'>;
  /** The seat the change was made through, when its device id was not known before the write. */
  seat?: SeatLocator | null;
}

/** A new ledger outbox entry for a change about to be written (resulting total filled in when moved). */
export function ledgerOutboxEntry(fields: Omit<LedgerEntry, 'id' | 'totalAfter' | 'periodResetAt'> & { periodResetAt?: Date | null; seat?: SeatLocator | null }): OutboxEntry {
  const { seat, periodResetAt, ...rest } = fields;
  const id = randomUUID();
  return { id, kind: 'ledger', at: fields.at, ledger: { id, ...rest, periodResetAt: periodResetAt ?? null }, ...(seat && rest.deviceId === null ? { seat } : {}) };
}

/** Any entry of a document's outbox: a ledger entry, or an event intent (see domain/event-outbox.ts). */
export type AnyOutboxEntry = OutboxEntry | EventOutboxEntry;

export interface LicenseDocument extends Omit<License, 'id'> {
  _id: number;
  outbox?: AnyOutboxEntry[];
  recentOps?: Array<{ key: string; at: Date }>;
}

function meter(doc: MeterState): MeterState {
  return {
    max: doc.max,
    unlimited: doc.unlimited,
    allowNegative: doc.allowNegative,
    allowOverages: doc.allowOverages,
    maxOverages: doc.maxOverages,
    reset: doc.reset,
    period: doc.period ?? null,
    total: doc.total,
    gross: doc.gross,
    ceiling: doc.ceiling ?? null,
    resetAt: doc.resetAt ?? null,
  };
}

function feature(doc: LicenseFeature): LicenseFeature {
  return {
    ...meter(doc),
    id: doc.id,
    productFeatureId: doc.productFeatureId,
    code: doc.code,
    name: doc.name,
    featureType: doc.featureType,
    expiryDate: doc.expiryDate ?? null,
    metadata: doc.metadata ?? {},
    isFloating: doc.isFloating ?? false,
    isFloatingCloud: doc.isFloatingCloud ?? false,
    floatingUsers: doc.floatingUsers ?? 0,
    floatingTimeout: doc.floatingTimeout ?? null,
    uses: doc.uses ?? {},
  };
}

function seat(doc: Seat): Seat {
  return { deviceId: doc.deviceId, activationId: doc.activationId, hardwareId: doc.hardwareId, blacklisted: doc.blacklisted ?? false, activatedAt: doc.activatedAt };
}

/** A lean license document as the domain sees it. */
export function toLicense(doc: LicenseDocument): License {
  return {
    id: doc._id,
    accountId: doc.accountId,
    productId: doc.productId,
    productCode: doc.productCode,
    key: doc.key ?? null,
    users: doc.users ?? [],
    type: doc.type,
    enabled: doc.enabled,
    isTrial: doc.isTrial ?? false,
    validUntil: doc.validUntil ?? null,
    maxActivations: doc.maxActivations,
    timesActivated: doc.timesActivated ?? 0,
    consumption: meter(doc.consumption),
    features: (doc.features ?? []).map(feature),
    seats: (doc.seats ?? []).map(seat),
    isFloating: doc.isFloating ?? false,
    isFloatingCloud: doc.isFloatingCloud ?? false,
    floatingUsers: doc.floatingUsers ?? 0,
    floatingTimeout: doc.floatingTimeout ?? null,
    preventVm: doc.preventVm ?? false,
    metadata: doc.metadata ?? {},
    timeActivated: doc.timeActivated ?? null,
    timeDisabled: doc.timeDisabled ?? null,
    lastCheck: doc.lastCheck ?? null,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** A domain license as a document (for inserts). */
export function fromLicense(license: License): LicenseDocument {
  const { id, ...rest } = license;
  return { _id: id, ...rest, outbox: [], recentOps: [] };
}
