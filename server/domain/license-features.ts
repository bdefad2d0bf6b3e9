import { DomainError } from './errors.js';
import { ceilingOf, resetAtFor, type MeterPolicy, type MeterState } from './meter.js';
import type { ConsumptionPeriod } from './periods.js';
import type { LicenseFeature, ProductFeature } from './types.js';
import { newNumericId } from './ids.js';

/** Settings of a counter as a caller gives them; anything left out keeps its current or default value. */
export interface MeterSettings {
  max?: number | undefined;
  unlimited?: boolean | undefined;
  allowNegative?: boolean | undefined;
  allowOverages?: boolean | undefined;
  maxOverages?: number | undefined;
  reset?: boolean | undefined;
  period?: ConsumptionPeriod | null | undefined;
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
  };
  validatePolicy(policy);
  const periodChanged = policy.reset !== current.reset || policy.period !== current.period;
  return {
    ...policy,
    total: pick(settings.total, current.total),
    gross: current.gross + Math.max(0, pick(settings.total, current.total) - current.total),
    ceiling: ceilingOf(policy),
    resetAt: periodChanged || current.resetAt === null ? resetAtFor(policy, now) : current.resetAt,
  };
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
