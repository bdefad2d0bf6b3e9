import type { License, LicenseFeature } from '../domain/types.js';
import type { MeterState } from '../domain/meter.js';
import type { AnyOutboxEntry } from '../domain/ports.js';
import { DEFAULT_ALERT_THRESHOLDS } from '../domain/consumption-alerts.js';

/** A stored license: the domain fields (`_id` for `id`) and its outbox. */
export interface LicenseDocument extends Omit<License, 'id'> {
  _id: number;
  outbox?: AnyOutboxEntry[];
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
    alertThresholds: doc.alertThresholds ?? [...DEFAULT_ALERT_THRESHOLDS],
    alerted: doc.alerted ?? [],
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

/** The domain license of a stored (lean) document, with defaults for the fields a document may lack. */
export function toLicense(doc: LicenseDocument): License {
  return {
    id: doc._id,
    accountId: doc.accountId,
    productId: doc.productId,
    productCode: doc.productCode,
    key: doc.key ?? null,
    users: doc.users ?? [],
    maxLicenseUsers: doc.maxLicenseUsers ?? 0,
    type: doc.type,
    enabled: doc.enabled,
    isTrial: doc.isTrial ?? false,
    validUntil: doc.validUntil ?? null,
    maxActivations: doc.maxActivations,
    timesActivated: doc.timesActivated ?? 0,
    consumption: meter(doc.consumption),
    seatEpoch: doc.seatEpoch ?? 0,
    lastActivatedDeviceId: doc.lastActivatedDeviceId ?? null,
    features: (doc.features ?? []).map(feature),
    isFloating: doc.isFloating ?? false,
    isFloatingCloud: doc.isFloatingCloud ?? false,
    floatingUsers: doc.floatingUsers ?? 0,
    floatingTimeout: doc.floatingTimeout ?? null,
    canBorrow: doc.canBorrow ?? false,
    maxBorrowTime: doc.maxBorrowTime ?? 0,
    preventVm: doc.preventVm ?? false,
    metadata: doc.metadata ?? {},
    timeActivated: doc.timeActivated ?? null,
    timeDisabled: doc.timeDisabled ?? null,
    lastCheck: doc.lastCheck ?? null,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** A domain license as a new document (for inserts): an empty outbox. */
export function fromLicense(license: License): LicenseDocument {
  const { id, ...rest } = license;
  return { _id: id, ...rest, outbox: [] };
}
