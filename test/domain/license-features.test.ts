import { describe, expect, it } from 'vitest';
import { DomainError } from '../../server/domain/errors.js';
import { applyMeterSettings, assertListedOnce, EMPTY_METER, newLicenseFeature, updatedLicenseFeature, validatePolicy } from '../../server/domain/license-features.js';
import type { MeterState } from '../../server/domain/meter.js';
import type { ProductFeature } from '../../server/domain/types.js';

const NOW = new Date('2026-03-10T10:00:00Z');
const LATER = new Date('2026-03-20T10:00:00Z');
const meter = (m: Partial<MeterState> = {}): MeterState => ({ ...EMPTY_METER, max: 10, ceiling: 10, total: 4, gross: 6, ...m });
const fieldOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof DomainError) return `${err.code}:${String(err.details?.field)}`;
    throw err;
  }
};

const productFeature: ProductFeature = {
  id: 3,
  code: 'api-calls',
  name: 'API calls',
  featureType: 'consumption',
  maxConsumption: 100,
  allowOverages: true,
  maxOverages: 20,
  resetConsumption: true,
  consumptionPeriod: 'monthly',
  metadata: {},
  createdAt: NOW,
  updatedAt: NOW,
};

describe('license features and meter settings', () => {
  it('applyMeterSettings keeps what is not given and derives the ceiling from the new policy', () => {
    const after = applyMeterSettings(meter(), { allowOverages: true, maxOverages: 5 }, NOW);
    expect(after).toMatchObject({ max: 10, allowOverages: true, maxOverages: 5, ceiling: 15, total: 4, gross: 6 });
    expect(applyMeterSettings(meter(), { unlimited: true }, NOW).ceiling).toBeNull();
    expect(applyMeterSettings(meter(), {}, NOW)).toEqual(meter());
  });

  it('a set total replaces the counter; gross grows only by an increase', () => {
    expect(applyMeterSettings(meter(), { total: 9 }, NOW)).toMatchObject({ total: 9, gross: 11 });
    expect(applyMeterSettings(meter(), { total: 1 }, NOW)).toMatchObject({ total: 1, gross: 6 });
  });

  it('the reset time is computed anew when the reset policy changes or none was set, else kept', () => {
    const daily = applyMeterSettings(meter(), { reset: true, period: 'daily' }, NOW);
    expect(daily.resetAt?.toISOString()).toBe('2026-03-11T00:00:00.000Z');
    // Same policy later: the running period is kept.
    expect(applyMeterSettings(daily, { max: 20 }, LATER).resetAt?.toISOString()).toBe('2026-03-11T00:00:00.000Z');
    // Another period: a new reset time from now.
    expect(applyMeterSettings(daily, { period: 'monthly' }, LATER).resetAt?.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    // A resetting meter without a reset time gets one.
    expect(applyMeterSettings({ ...daily, resetAt: null }, {}, LATER).resetAt?.toISOString()).toBe('2026-03-21T00:00:00.000Z');
    expect(applyMeterSettings(daily, { reset: false }, LATER).resetAt).toBeNull();
  });

  it('refuses an invalid policy, naming the field (in domain terms)', () => {
    expect(fieldOf(() => applyMeterSettings(meter(), { max: -1 }, NOW))).toBe('invalid_input:max');
    expect(fieldOf(() => applyMeterSettings(meter(), { max: 1.5 }, NOW))).toBe('invalid_input:max');
    expect(fieldOf(() => applyMeterSettings(meter(), { maxOverages: -2 }, NOW))).toBe('invalid_input:maxOverages');
    expect(fieldOf(() => applyMeterSettings(meter(), { reset: true }, NOW))).toBe('invalid_input:period');
    expect(fieldOf(() => validatePolicy({ ...EMPTY_METER, max: 0 }))).toBe('ok');
  });

  it('a license lists each feature at most once: the first repeated code is named', () => {
    expect(fieldOf(() => assertListedOnce([{ code: 'a' }, { code: 'b' }]))).toBe('ok');
    expect(fieldOf(() => assertListedOnce([]))).toBe('ok');
    expect(fieldOf(() => assertListedOnce([{ code: 'a' }, { code: 'b' }, { code: 'b' }, { code: 'a' }]))).toBe('feature_listed_twice:features');
    expect(() => assertListedOnce([{ code: 'a' }, { code: 'b' }, { code: 'b' }])).toThrow(expect.objectContaining({ details: expect.objectContaining({ code: 'b' }) }));
  });

  it('newLicenseFeature starts from the product feature defaults, with the given settings on top', () => {
    const feature = newLicenseFeature(productFeature, { code: 'api-calls', max: 50, isFloating: true }, NOW);
    expect(feature).toMatchObject({
      productFeatureId: 3,
      code: 'api-calls',
      name: 'API calls',
      max: 50,
      allowOverages: true,
      maxOverages: 20,
      ceiling: 70,
      reset: true,
      period: 'monthly',
      total: 0,
      gross: 0,
      isFloating: true,
      isFloatingCloud: false,
      expiryDate: null,
      uses: {},
    });
    expect(feature.resetAt?.toISOString()).toBe('2026-04-01T00:00:00.000Z');
  });

  it('updatedLicenseFeature changes the given settings and keeps the counter and per-device uses', () => {
    const current = { ...newLicenseFeature(productFeature, undefined, NOW), total: 30, gross: 40, uses: { '1': 30 } };
    const updated = updatedLicenseFeature(current, { code: 'api-calls', allowOverages: false, expiryDate: LATER, floatingUsers: 2 }, LATER);
    expect(updated).toMatchObject({ id: current.id, total: 30, gross: 40, uses: { '1': 30 }, ceiling: 100, expiryDate: LATER, floatingUsers: 2, resetAt: current.resetAt });
    expect(updatedLicenseFeature(updated, { code: 'api-calls', expiryDate: null }, LATER).expiryDate).toBeNull();
  });
});
