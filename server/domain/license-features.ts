import { randomUUID } from 'node:crypto';
import { DomainError } from './errors.js';
import { ceilingExpression, ceilingOf, resetAtExpression, resetAtFor, type MeterPolicy, type MeterState } from './meter.js';
import type { ConsumptionPeriod } from './periods.js';
import type { EventOutboxEntry } from './events.js';
import type { FeatureUpsert, LedgerTemplate, LicenseFieldChanges, MeterFieldChanges } from './ports.js';
import { literal, type QueryDocument } from './query-forms.js';
import type { LicenseFeature, ProductFeature } from './types.js';
import { newNumericId } from './ids.js';
import { ledgerOutboxEntryExpression, outboxAppendExpression } from './ledger-entries.js';
import { featureByCode } from './license-rules.js';
import { DEFAULT_ALERT_THRESHOLDS, normalizeAlertThresholds } from './consumption-alerts.js';

/** Settings of a counter as a caller gives them; anything left out keeps its current or default value. */
export interface MeterSettings {
  max?: number | undefined;
  unlimited?: boolean | undefined;
  allowNegative?: boolean | undefined;
  allowOverages?: boolean | undefined;
  maxOverages?: number | undefined;
  reset?: boolean | undefined;
  period?: ConsumptionPeriod | null | undefined;
  /** Alert thresholds in percent of `max` (any order; stored ascending). */
  alertThresholds?: readonly number[] | undefined;
  /** Sets the current total (management only). */
  total?: number | undefined;
}

export interface LicenseFeatureSettings extends MeterSettings {
  /** The product feature's code. */
  code: string;
  expiryDate?: Date | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  isFloating?: boolean | undefined;
  isFloatingCloud?: boolean | undefined;
  floatingUsers?: number | undefined;
  floatingTimeout?: number | null | undefined;
}

function pick<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** Applies settings to a meter: the policy, the derived ceiling and reset time, and optionally the total. */
export function applyMeterSettings(current: MeterState, settings: MeterSettings, now: Date): MeterState {
  const policy: MeterPolicy = {
    max: pick(settings.max, current.max),
    unlimited: pick(settings.unlimited, current.unlimited),
    allowNegative: pick(settings.allowNegative, current.allowNegative),
    allowOverages: pick(settings.allowOverages, current.allowOverages),
    maxOverages: pick(settings.maxOverages, current.maxOverages),
    reset: pick(settings.reset, current.reset),
    period: pick(settings.period, current.period),
    alertThresholds: settings.alertThresholds === undefined ? current.alertThresholds : normalizeAlertThresholds(settings.alertThresholds),
  };
  validatePolicy(policy);
  const periodChanged = policy.reset !== current.reset || policy.period !== current.period;
  return {
    ...policy,
    total: pick(settings.total, current.total),
    gross: current.gross + Math.max(0, pick(settings.total, current.total) - current.total),
    ceiling: ceilingOf(policy),
    resetAt: periodChanged || current.resetAt === null ? resetAtFor(policy, now) : current.resetAt,
    alerted: current.alerted,
  };
}

/**
 * `applyMeterSettings` as an aggregation expression, for pipeline updates that change a meter's
 * settings while keeping the counter exactly as the stored document has it when the write applies
 * (never a value read earlier): the meter `old` (an expression) with `changes` merged in, the ceiling
 * from the new policy, the reset time anew when the reset policy changed or none was set (else kept).
 * With `total`, the counter is set (gross grows by any increase); without it, the counter is whatever
 * `old` holds at write time. It does not validate: the caller runs `applyMeterSettings` on the meter as
 * read first, which throws on an invalid policy. Every value from the caller is a `$literal`.
 */
export function applyMeterSettingsExpression(old: QueryDocument | string, changes: MeterFieldChanges, now: Date, total?: number): QueryDocument {
  return {
    $let: {
      vars: { o: old },
      in: {
        $let: {
          vars: { m: { $mergeObjects: ['$$o', literal({ ...changes })] } },
          in: {
            $mergeObjects: [
              '$$m',
              {
                ceiling: ceilingExpression('$$m'),
                resetAt: {
                  $cond: [
                    {
                      $or: [
                        { $ne: ['$$m.reset', '$$o.reset'] },
                        { $ne: [{ $ifNull: ['$$m.period', null] }, { $ifNull: ['$$o.period', null] }] },
                        { $eq: [{ $ifNull: ['$$o.resetAt', null] }, null] },
                      ],
                    },
                    resetAtExpression('$$m', now),
                    '$$o.resetAt',
                  ],
                },
                ...(total === undefined
                  ? {}
                  : {
                      total: literal(total),
                      gross: { $add: [{ $ifNull: ['$$o.gross', 0] }, { $max: [0, { $subtract: [total, { $ifNull: ['$$o.total', 0] }] }] }] },
                    }),
              },
            ],
          },
        },
      },
    },
  };
}

/** A license lists each product feature at most once: throws `feature_listed_twice` naming the first repeated code. */
export function assertListedOnce(settings: ReadonlyArray<{ code: string }>): void {
  const seen = new Set<string>();
  for (const { code } of settings) {
    if (seen.has(code)) throw new DomainError('feature_listed_twice', `Feature "${code}" is listed more than once`, { field: 'features', code });
    seen.add(code);
  }
}

export function validatePolicy(policy: MeterPolicy): void {
  if (!Number.isSafeInteger(policy.max) || policy.max < 0) throw new DomainError('invalid_input', 'max consumptions must be a whole number of at least 0', { field: 'max' });
  if (!Number.isSafeInteger(policy.maxOverages) || policy.maxOverages < 0) throw new DomainError('invalid_input', 'max overages must be a whole number of at least 0', { field: 'maxOverages' });
  if (policy.reset && policy.period === null) throw new DomainError('invalid_input', 'a consumption period is required when consumption resets', { field: 'period' });
}

export const EMPTY_METER: MeterState = {
  max: 0,
  unlimited: false,
  allowNegative: false,
  allowOverages: false,
  maxOverages: 0,
  reset: false,
  period: null,
  total: 0,
  gross: 0,
  ceiling: 0,
  resetAt: null,
  alertThresholds: [...DEFAULT_ALERT_THRESHOLDS],
  alerted: [],
};

/** A product feature's defaults as a meter. */
function productFeatureMeter(pf: ProductFeature, now: Date): MeterState {
  return applyMeterSettings(
    EMPTY_METER,
    { max: pf.maxConsumption, allowOverages: pf.allowOverages, maxOverages: pf.maxOverages, reset: pf.resetConsumption, period: pf.consumptionPeriod },
    now,
  );
}

/** A new license feature from its product feature's defaults and the given settings. */
export function newLicenseFeature(pf: ProductFeature, settings: LicenseFeatureSettings | undefined, now: Date): LicenseFeature {
  const meter = applyMeterSettings(productFeatureMeter(pf, now), settings ?? {}, now);
  return {
    ...meter,
    id: newNumericId(),
    productFeatureId: pf.id,
    code: pf.code,
    name: pf.name,
    featureType: pf.featureType,
    expiryDate: settings?.expiryDate ?? null,
    metadata: settings?.metadata ?? {},
    isFloating: settings?.isFloating ?? false,
    isFloatingCloud: settings?.isFloatingCloud ?? false,
    floatingUsers: settings?.floatingUsers ?? 0,
    floatingTimeout: settings?.floatingTimeout ?? null,
    uses: {},
  };
}

/** An existing license feature with new settings (total, gross and per-device uses kept unless set). */
export function updatedLicenseFeature(current: LicenseFeature, settings: LicenseFeatureSettings, now: Date): LicenseFeature {
  return {
    ...current,
    ...applyMeterSettings(current, settings, now),
    expiryDate: settings.expiryDate === undefined ? current.expiryDate : settings.expiryDate,
    metadata: settings.metadata ?? current.metadata,
    isFloating: pick(settings.isFloating, current.isFloating),
    isFloatingCloud: pick(settings.isFloatingCloud, current.isFloatingCloud),
    floatingUsers: pick(settings.floatingUsers, current.floatingUsers),
    floatingTimeout: pick(settings.floatingTimeout, current.floatingTimeout),
  };
}

/**
 * The query form of `updatedLicenseFeature` / `newLicenseFeature` for one listed feature, over the
 * stored license when the write applies: the stored feature with the settings merged in (counter kept
 * unless `total` is given), or `whenNew` when the license has no feature with that code.
 */
export function featureUpsertExpression(u: FeatureUpsert, now: Date): QueryDocument {
  return {
    $let: {
      vars: { old: featureByCode(u.code) },
      in: {
        $cond: [{ $eq: ['$$old', null] }, literal(u.whenNew), { $mergeObjects: [applyMeterSettingsExpression('$$old', u.meter, now, u.total), literal(u.fields)] }],
      },
    },
  };
}

/**
 * The `$set` stage that makes a license's features exactly `upserts` (listed ones merged or inserted,
 * unlisted ones dropped), with an `update` ledger entry for each feature whose total is set (amount:
 * the new total minus the stored one; none when that is 0), and the event entries.
 */
export function replaceFeaturesStage(upserts: FeatureUpsert[], ledger: LedgerTemplate, events: EventOutboxEntry[]): QueryDocument {
  const entries = upserts.flatMap((u) => {
    if (u.total === undefined) return [];
    const oldTotal = { $let: { vars: { old: featureByCode(u.code) }, in: { $ifNull: ['$$old.total', 0] } } };
    return [ledgerOutboxEntryExpression(ledger, { id: `${ledger.requestId ?? 'update'}:${randomUUID()}`, scope: 'feature', featureCode: literal(u.code), amount: { $subtract: [u.total, oldTotal] } })];
  });
  return { $set: { features: upserts.map((u) => featureUpsertExpression(u, ledger.at)), outbox: outboxAppendExpression(entries, events), updatedAt: ledger.at } };
}

/** The `$set` stage of a license settings change: plain fields as given, license-level meter settings merged into the stored meter (applyMeterSettingsExpression). */
export function updateLicenseStage(fields: LicenseFieldChanges, meter: MeterFieldChanges | undefined, now: Date, events: EventOutboxEntry[]): QueryDocument {
  const set: Record<string, unknown> = { updatedAt: now };
  if (events.length > 0) set.outbox = outboxAppendExpression([], events);
  for (const [key, value] of Object.entries(fields)) set[key] = literal(value);
  if (meter && Object.keys(meter).length > 0) set.consumption = applyMeterSettingsExpression('$consumption', meter, now);
  return { $set: set };
}
