import fc from 'fast-check';
import { DomainError } from '../../server/domain/errors.js';
import { EMPTY_METER } from '../../server/domain/license-features.js';
import { ceilingOf, type MeterState } from '../../server/domain/meter.js';
import type { MeterChange } from '../../server/domain/ports.js';
import type { ThresholdExpectation } from '../../server/domain/consumption-alerts.js';
import type { License, LicenseFeature } from '../../server/domain/types.js';

/**
 * Random licenses and counter changes for the property tests of the license rules, drawn near the
 * points where the rules decide (totals around the limits, moments just before and after `NOW`).
 */
export const NOW = new Date('2026-06-01T12:00:00Z');
export const PAST = new Date('2026-05-31T00:00:00Z');
export const FUTURE = new Date('2026-06-02T00:00:00Z');
export const when = fc.constantFrom<Date | null>(null, PAST, NOW, FUTURE);

/** The fields of a meter policy but its period, with `max` up to `maxMax` and overages up to `maxOverages`. */
export function policyFields(maxMax: number, maxOverages: number) {
  return {
    max: fc.integer({ min: 0, max: maxMax }),
    unlimited: fc.boolean(),
    allowNegative: fc.boolean(),
    allowOverages: fc.boolean(),
    maxOverages: fc.integer({ min: 0, max: maxOverages }),
    reset: fc.boolean(),
    alertThresholds: fc.constantFrom<number[]>([], [80, 100], [50], [25, 50, 75, 100]),
  };
}

/** The DomainError code a call fails with, or 'ok'. */
export async function errorCodeOf(call: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof call === 'function' ? call() : call);
    return 'ok';
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
}

export const meterArb = fc
  .record({
    ...policyFields(8, 3),
    // Near the limit, where the rules decide.
    offset: fc.integer({ min: -3, max: 4 }),
    resetAt: when,
    alerted: fc.constantFrom<number[]>([], [], [80], [50], [25, 50]),
  })
  .map((m): MeterState => {
    const policy = { max: m.max, unlimited: m.unlimited, allowNegative: m.allowNegative, allowOverages: m.allowOverages, maxOverages: m.maxOverages, reset: m.reset, period: m.reset ? ('daily' as const) : null, alertThresholds: m.alertThresholds };
    const total = Math.max(0, m.max + m.offset);
    return { ...policy, total, gross: total, ceiling: ceilingOf(policy), resetAt: m.reset ? m.resetAt : null, alerted: m.alerted };
  });

export const featureArb = (code: string) =>
  fc
    .record({ meter: meterArb, expiryDate: when, uses1: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), uses2: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }) })
    .map(({ meter, expiryDate, uses1, uses2 }): LicenseFeature => ({
      ...meter,
      id: code.charCodeAt(0),
      productFeatureId: code.charCodeAt(0),
      code,
      name: code,
      featureType: 'consumption',
      expiryDate,
      metadata: {},
      isFloating: false,
      isFloatingCloud: false,
      floatingUsers: 0,
      floatingTimeout: null,
      uses: { ...(uses1 !== undefined ? { '1': uses1 } : {}), ...(uses2 !== undefined ? { '2': uses2 } : {}) },
    }));

/** A license of account 7 and product `p` (id 0, no features or seats) with `fields` set. */
export function licenseWith(fields: Partial<License>): License {
  return {
    id: 0,
    accountId: 7,
    productId: 1,
    productCode: 'p',
    key: 'KEY',
    users: [],
    maxLicenseUsers: 0,
    type: 'consumption',
    enabled: true,
    isTrial: false,
    validUntil: null,
    maxActivations: 5,
    timesActivated: 0,
    consumption: { ...EMPTY_METER },
    features: [],
    seatEpoch: 0,
    lastActivatedDeviceId: null,
    isFloating: false,
    isFloatingCloud: false,
    floatingUsers: 0,
    floatingTimeout: null,
    canBorrow: false,
    maxBorrowTime: 0,
    preventVm: false,
    metadata: {},
    timeActivated: PAST,
    timeDisabled: null,
    lastCheck: null,
    createdAt: PAST,
    updatedAt: PAST,
    ...fields,
  };
}

export const licenseArb = fc
  .record({
    enabled: fc.boolean(),
    validUntil: when,
    type: fc.constantFrom<License['type']>('consumption', 'perpetual'),
    consumption: meterArb,
    featureA: featureArb('a'),
    featureB: fc.option(featureArb('b'), { nil: undefined }),
    seats: fc.integer({ min: 0, max: 2 }),
    seatEpoch: fc.integer({ min: 0, max: 1 }),
  })
  .map((l) => {
    const license = licenseWith({
      type: l.type,
      enabled: l.enabled,
      validUntil: l.validUntil,
      timesActivated: l.seats,
      seatEpoch: l.seatEpoch,
      consumption: l.consumption,
      features: [l.featureA, ...(l.featureB ? [l.featureB] : [])],
    });
    return { license };
  });

export const changeArb = fc
  .record({
    target: fc.constantFrom<MeterChange['target']>({ scope: 'license' }, { scope: 'feature', code: 'a' }, { scope: 'feature', code: 'b' }),
    amount: fc.integer({ min: -4, max: 4 }),
    // A seat read at seat epoch 0 or 1 (the license's epoch may have moved on since).
    seat: fc.constantFrom<MeterChange['seat'] | undefined>(undefined, { deviceId: 1, activationId: 'act-1', seatEpoch: 0, leaseExpiresAt: null }, { deviceId: 2, activationId: 'act-2', seatEpoch: 1, leaseExpiresAt: null }),
    deviceUses: fc.constantFrom<number | undefined>(undefined, 1, 2),
    negatives: fc.constantFrom<MeterChange['negatives']>('policy', 'floor-only'),
    requireConsumptionLicense: fc.boolean(),
    overageCap: fc.constantFrom<MeterChange['overageCap']>(undefined, { allowOverages: false }, { maxOverages: 1 }, { maxOverages: 2 }, { allowOverages: true, maxOverages: 0 }),
    // A deadline passed on every clock, one far ahead, or none.
    deadline: fc.constantFrom<Date | undefined>(undefined, new Date('2026-01-01T00:00:00Z'), new Date('2099-01-01T00:00:00Z')),
    // The alert thresholds it expects to reach: none (mostly), or some, with the limit and period it read.
    thresholds: fc.constantFrom<ThresholdExpectation | undefined>(
      undefined,
      undefined,
      { crossed: [] },
      { crossed: [100], asRead: { max: 4, resetAt: null, period: null } },
      { crossed: [50], asRead: { max: 4, resetAt: null, period: null } },
      { crossed: [80, 100], asRead: { max: 2, resetAt: null, period: null } },
      { crossed: [75, 100], asRead: { max: 4, resetAt: null, period: null } },
      { crossed: [100], asRead: { max: 3, resetAt: FUTURE, period: 'daily' } },
    ),
  })
  .map((c) => ({
    ...c,
    // Per-device uses are counted on features only, and only with the seat they belong to.
    deviceUses: c.target.scope === 'feature' && c.seat !== undefined ? c.deviceUses : undefined,
  }));

/** A generated change as the guarded update receives it, on `license`. */
export function meterChangeOf(license: License, c: typeof changeArb extends fc.Arbitrary<infer T> ? T : never): MeterChange {
  return {
    accountId: license.accountId,
    license: { licenseId: license.id },
    target: c.target,
    amount: c.amount,
    now: NOW,
    negatives: c.negatives,
    outbox: { id: `e${license.id}`, kind: 'ledger', at: NOW, ledger: { id: `e${license.id}`, accountId: 7, licenseId: license.id, scope: c.target.scope, featureCode: null, deviceId: null, amount: c.amount, periodResetAt: null, event: 'consumption_add', requestId: null, idempotencyKey: null, at: NOW } },
    ...(c.seat ? { seat: c.seat } : {}),
    ...(c.deviceUses !== undefined ? { deviceUses: c.deviceUses } : {}),
    ...(c.requireConsumptionLicense ? { requireConsumptionLicense: true } : {}),
    ...(c.overageCap ? { overageCap: c.overageCap } : {}),
    ...(c.deadline !== undefined ? { deadline: c.deadline } : {}),
    ...(c.thresholds !== undefined ? { thresholds: c.thresholds } : {}),
  };
}
