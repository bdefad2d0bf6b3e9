import fc from 'fast-check';
import { MongoClient, type Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromLicense } from '../../server/db/license-document.js';
import { meterChangeFilter, meterChangeUpdate } from '../../server/db/license-meters.js';
import { ceilingOf, type MeterState } from '../../server/domain/meter.js';
import { meterRefusal } from '../../server/domain/license-rules.js';
import type { MeterChange } from '../../server/domain/ports.js';
import type { License, LicenseFeature } from '../../server/domain/types.js';
import { startTestDatabase, type TestDatabase } from '../../server/db/embedded/test/database.js';

/**
 * The counter rules exist twice by necessity: as a MongoDB filter that the database evaluates in the
 * same atomic write as the `$inc` (meterChangeFilter), and in TypeScript to tell the client why a change
 * was refused (meterRefusal). This generates licenses and changes at random and checks, on the database
 * itself, that the guarded update applies a change exactly when the TypeScript rules say it may, and
 * then moves the counter by exactly the amount.
 */
const NOW = new Date('2026-06-01T12:00:00Z');
const PAST = new Date('2026-05-31T00:00:00Z');
const FUTURE = new Date('2026-06-02T00:00:00Z');
const when = fc.constantFrom<Date | null>(null, PAST, FUTURE);

const meterArb = fc
  .record({
    max: fc.integer({ min: 0, max: 8 }),
    unlimited: fc.boolean(),
    allowNegative: fc.boolean(),
    allowOverages: fc.boolean(),
    maxOverages: fc.integer({ min: 0, max: 3 }),
    reset: fc.boolean(),
    // Near the limit, where the rules decide.
    offset: fc.integer({ min: -3, max: 4 }),
    resetAt: when,
  })
  .map((m): MeterState => {
    const policy = { max: m.max, unlimited: m.unlimited, allowNegative: m.allowNegative, allowOverages: m.allowOverages, maxOverages: m.maxOverages, reset: m.reset, period: m.reset ? ('daily' as const) : null };
    const total = Math.max(0, m.max + m.offset);
    return { ...policy, total, gross: total, ceiling: ceilingOf(policy), resetAt: m.reset ? m.resetAt : null };
  });

const featureArb = (code: string) =>
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

const licenseArb = fc
  .record({
    enabled: fc.boolean(),
    validUntil: when,
    type: fc.constantFrom<License['type']>('consumption', 'perpetual'),
    consumption: meterArb,
    featureA: featureArb('a'),
    featureB: fc.option(featureArb('b'), { nil: undefined }),
    seat1: fc.option(fc.boolean(), { nil: undefined }),
    seat2: fc.option(fc.boolean(), { nil: undefined }),
    recent: fc.subarray(['k1', 'k2']),
  })
  .map((l) => {
    const seats = [
      ...(l.seat1 !== undefined ? [{ deviceId: 1, activationId: 'act-1', hardwareId: 'hw-1', blacklisted: l.seat1, activatedAt: PAST }] : []),
      ...(l.seat2 !== undefined ? [{ deviceId: 2, activationId: 'act-2', hardwareId: 'hw-2', blacklisted: l.seat2, activatedAt: PAST }] : []),
    ];
    const license: License = {
      id: 0,
      accountId: 7,
      productId: 1,
      productCode: 'p',
      key: 'KEY',
      users: [],
      type: l.type,
      enabled: l.enabled,
      isTrial: false,
      validUntil: l.validUntil,
      maxActivations: 5,
      timesActivated: seats.length,
      consumption: l.consumption,
      features: [l.featureA, ...(l.featureB ? [l.featureB] : [])],
      seats,
      isFloating: false,
      isFloatingCloud: false,
      floatingUsers: 0,
      floatingTimeout: null,
      preventVm: false,
      metadata: {},
      timeActivated: PAST,
      timeDisabled: null,
      lastCheck: null,
      createdAt: PAST,
      updatedAt: PAST,
    };
    return { license, recent: l.recent };
  });

const changeArb = fc
  .record({
    target: fc.constantFrom<MeterChange['target']>({ scope: 'license' }, { scope: 'feature', code: 'a' }, { scope: 'feature', code: 'b' }),
    amount: fc.integer({ min: -4, max: 4 }),
    seat: fc.constantFrom<MeterChange['seat'] | undefined>(undefined, { hardwareId: 'hw-1' }, { hardwareId: 'hw-3' }, { activationId: 'act-2' }),
    deviceUses: fc.constantFrom<number | undefined>(undefined, 1, 2),
    negatives: fc.constantFrom<MeterChange['negatives']>('policy', 'floor-only'),
    requireConsumptionLicense: fc.boolean(),
    overageCap: fc.constantFrom<MeterChange['overageCap']>(undefined, { allowOverages: false }, { maxOverages: 1 }, { maxOverages: 2 }, { allowOverages: true, maxOverages: 0 }),
    idempotencyKey: fc.constantFrom<string | undefined>(undefined, 'k1', 'k3'),
  })
  .map((c) => ({
    ...c,
    // Per-device uses are counted on features only, and only with the seat they belong to.
    deviceUses: c.target.scope === 'feature' && c.seat !== undefined ? c.deviceUses : undefined,
  }));

describe('counter rules: the guarded update and the TypeScript rules agree', () => {
  let db: TestDatabase;
  let client: MongoClient;
  let licenses: Collection;
  let nextId = 1;

  beforeAll(async () => {
    db = await startTestDatabase();
    client = new MongoClient(db.uri);
    await client.connect();
    licenses = client.db(db.dbName).collection('licenses');
  });
  afterAll(async () => {
    await client?.close();
    await db?.stop();
  });

  it('accepts a change exactly when meterRefusal finds no rule broken, and then moves the counter by the amount', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(licenseArb, changeArb, async ({ license: generated, recent }, c) => {
        const license = { ...generated, id: nextId++ };
        await licenses.insertOne({ ...fromLicense(license), recentOps: recent.map((key) => ({ key, at: PAST })) } as never);
        const change: MeterChange = {
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
          ...(c.idempotencyKey !== undefined ? { idempotencyKey: c.idempotencyKey } : {}),
        };
        const refusal = meterRefusal(license, recent, change);
        const { update, arrayFilters } = meterChangeUpdate(change);
        const after = await licenses.findOneAndUpdate(meterChangeFilter(change) as never, update as never, { returnDocument: 'after', ...(arrayFilters ? { arrayFilters } : {}) });
        expect({ applied: after !== null, refusal }).toEqual({ applied: refusal === null, refusal });
        if (after) {
          accepted += 1;
          const before = c.target.scope === 'license' ? license.consumption.total : license.features.find((f) => f.code === (c.target as { code: string }).code)!.total;
          const stored = c.target.scope === 'license' ? (after.consumption as MeterState).total : (after.features as LicenseFeature[]).find((f) => f.code === (c.target as { code: string }).code)!.total;
          expect(stored).toBe(before + c.amount);
        }
      }),
      { numRuns: 1500 },
    );
    // The generators reach both sides of the rules.
    expect(accepted).toBeGreaterThan(5);
  });
});
