import fc from 'fast-check';
import { Aggregator, Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { fromLicense } from '../../server/db/license-document.js';
import { ledgerOutboxEntry, ledgerOutboxEntryExpression } from '../../server/domain/ledger-entries.js';
import { applyMeterSettings, applyMeterSettingsExpression, type MeterSettings } from '../../server/domain/license-features.js';
import { meterChangeFilter, meterRefusal, multiFeatureChangeFilter, multiFeatureRefusals, seatFilter, usabilityOf, usableLicenseFilter } from '../../server/domain/license-rules.js';
import { ceilingExpression, ceilingOf, resetAtExpression, resetAtFor, type MeterPolicy, type MeterState } from '../../server/domain/meter.js';
import { CONSUMPTION_PERIODS } from '../../server/domain/periods.js';
import { crossedThresholds, crossedThresholdsExpression, thresholdGuard } from '../../server/domain/consumption-alerts.js';
import type { LedgerTemplate, MeterFieldChanges, MultiFeatureChange, HeldSeat } from '../../server/domain/ports.js';
import type { QueryDocument } from '../../server/domain/query-forms.js';
import type { LedgerEntry, License } from '../../server/domain/types.js';
import { changeArb, licenseArb, meterChangeOf, NOW, policyFields, when } from './license-arbitraries.js';

/**
 * Each license rule that the database applies has a TypeScript form and a query form (a filter or an
 * aggregation expression). These properties evaluate the query form with mingo, the query library the
 * embedded engine is built on, without a database, and check it gives what the TypeScript form gives
 * on random inputs. (test/domain/license-rules.property.test.ts checks the guarded update on the
 * database itself.)
 */

/** The value of an aggregation expression on one document. */
function evaluate(expression: QueryDocument, doc: Record<string, unknown>): unknown {
  const [out] = new Aggregator([{ $project: { _id: 0, value: expression } }]).run([{ _id: 1, ...doc }]) as Array<{ value: unknown }>;
  return out!.value ?? null;
}

function matches(filter: QueryDocument, license: License): boolean {
  return new Query(filter).test({ ...fromLicense(license) });
}

const periodArb = fc.constantFrom(null, ...CONSUMPTION_PERIODS);
const policyArb = fc.record({ ...policyFields(20, 5), period: periodArb }) satisfies fc.Arbitrary<MeterPolicy>;
const momentArb = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T23:59:59Z'), noInvalidDate: true });

describe('query forms agree with the TypeScript rules (through mingo)', () => {
  it('ceilingExpression gives ceilingOf', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        expect(evaluate(ceilingExpression('$m'), { m: policy })).toBe(ceilingOf(policy));
      }),
      { numRuns: 200 },
    );
  });

  it('resetAtExpression gives resetAtFor', () => {
    fc.assert(
      fc.property(policyArb, momentArb, (policy, now) => {
        const expected = resetAtFor(policy, now);
        const actual = evaluate(resetAtExpression('$m', now), { m: policy }) as Date | null;
        expect(actual?.toISOString() ?? null).toBe(expected?.toISOString() ?? null);
      }),
      { numRuns: 200 },
    );
  });

  it('applyMeterSettingsExpression gives applyMeterSettings (on every valid change of settings)', () => {
    const currentArb = fc.record({ policy: policyArb, total: fc.integer({ min: 0, max: 30 }), extra: fc.integer({ min: 0, max: 10 }), resetAt: fc.option(momentArb, { nil: null }) }).map(
      ({ policy, total, extra, resetAt }): MeterState => ({ ...policy, total, gross: total + extra, ceiling: ceilingOf(policy), resetAt: policy.reset ? resetAt : null, alerted: [] }),
    );
    const settingsArb = fc.record({ ...policyFields(20, 5), period: periodArb, total: fc.integer({ min: 0, max: 30 }) }, { requiredKeys: [] }) satisfies fc.Arbitrary<MeterSettings>;
    let valid = 0;
    fc.assert(
      fc.property(currentArb, settingsArb, momentArb, (current, settings, now) => {
        let expected: MeterState;
        try {
          expected = applyMeterSettings(current, settings, now);
        } catch {
          return; // An invalid policy is refused before any write.
        }
        valid += 1;
        const { total, ...fields } = settings;
        const changes: MeterFieldChanges = fields;
        const actual = evaluate(applyMeterSettingsExpression('$m', changes, now, total), { m: current }) as MeterState;
        expect({ ...actual, resetAt: actual.resetAt ?? null }).toEqual(expected);
      }),
      { numRuns: 500 },
    );
    expect(valid).toBeGreaterThan(100);
  });

  it('crossedThresholdsExpression gives crossedThresholds, and the guard of a write expecting none holds exactly when it reaches none', () => {
    const pcts = fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { maxLength: 5 }).map((a) => [...a].sort((x, y) => x - y));
    const meterArb = fc
      .record({ max: fc.integer({ min: 0, max: 40 }), unlimited: fc.boolean(), total: fc.integer({ min: 0, max: 45 }), alertThresholds: pcts, alertedShare: fc.integer({ min: 0, max: 5 }) })
      .map(({ alertedShare, ...m }) => ({ ...m, alerted: m.alertThresholds.slice(0, alertedShare % (m.alertThresholds.length + 1)) }));
    let reached = 0;
    fc.assert(
      fc.property(meterArb, fc.integer({ min: -3, max: 20 }), (meter, amount) => {
        const crossed = crossedThresholds(meter, amount);
        if (crossed.length > 0) reached += 1;
        if (amount > 0) expect(evaluate(crossedThresholdsExpression('$m', amount), { m: meter })).toEqual(crossed);
        if (amount > 0) expect(evaluate(thresholdGuard('$m', amount, { crossed: [] }).expr, { m: meter })).toBe(crossed.length === 0);
      }),
      { numRuns: 2000 },
    );
    // The generator reaches a threshold in about 5 % of the runs (85 to 130 of 2000 seen): enough to have tested both answers.
    expect(reached).toBeGreaterThan(40);
  });

  it('ledgerOutboxEntryExpression builds what ledgerOutboxEntry builds', () => {
    const templateArb = fc.record({
      accountId: fc.integer({ min: 1, max: 1000 }),
      licenseId: fc.integer({ min: 1, max: 1000 }),
      deviceId: fc.constantFrom(null, 3),
      periodResetAt: when,
      event: fc.constantFrom<LedgerEntry['event']>('update', 'reset', 'consumption_add'),
      // Strings that look like field paths stay data.
      requestId: fc.constantFrom(null, 'req-1', '$outbox'),
      idempotencyKey: fc.constantFrom(null, 'k1'),
      at: when.map((d) => d ?? NOW),
    }) satisfies fc.Arbitrary<LedgerTemplate>;
    fc.assert(
      fc.property(templateArb, fc.constantFrom<LedgerEntry['scope']>('license', 'feature'), fc.constantFrom(null, 'a', '$b'), fc.integer({ min: -50, max: 50 }), (template, scope, featureCode, amount) => {
        const object = ledgerOutboxEntry({ ...template, scope, featureCode, amount });
        const expression = ledgerOutboxEntryExpression(template, { id: object.id, scope, featureCode: { $literal: featureCode }, amount: { $literal: amount } });
        expect(evaluate(expression, {})).toEqual(object);
      }),
      { numRuns: 200 },
    );
  });

  it('usableLicenseFilter matches exactly the licenses usabilityOf calls usable', () => {
    fc.assert(
      fc.property(licenseArb, ({ license }) => {
        expect(matches(usableLicenseFilter(NOW), license)).toBe(usabilityOf(license, NOW) === 'usable');
      }),
      { numRuns: 200 },
    );
  });

  it('seatFilter matches exactly the licenses whose seat epoch is still the one the seat was read at', () => {
    const seatArb = fc.constantFrom<HeldSeat>({ deviceId: 1, activationId: 'act-1', seatEpoch: 0, leaseExpiresAt: null }, { deviceId: 1, activationId: 'act-1', seatEpoch: 1, leaseExpiresAt: null }, { deviceId: 2, activationId: 'act-2', seatEpoch: 2, leaseExpiresAt: null });
    fc.assert(
      fc.property(licenseArb, seatArb, ({ license }, seat) => {
        expect(matches(seatFilter(seat), license)).toBe(license.seatEpoch === seat.seatEpoch);
      }),
      { numRuns: 200 },
    );
  });

  it('meterChangeFilter matches exactly when meterRefusal finds no rule broken', () => {
    let accepted = 0;
    fc.assert(
      fc.property(licenseArb, changeArb, ({ license }, c) => {
        const change = meterChangeOf(license, c);
        const refusal = meterRefusal(license, change);
        if (refusal === null) accepted += 1;
        expect({ matched: matches(meterChangeFilter(change), license), refusal }).toEqual({ matched: refusal === null, refusal });
      }),
      { numRuns: 1000 },
    );
    expect(accepted).toBeGreaterThan(10);
  });

  it('multiFeatureChangeFilter matches exactly when multiFeatureRefusals finds no change refused', () => {
    const changesArb = fc.subarray(['a', 'b'], { minLength: 1 }).chain((codes) =>
      fc.tuple(...codes.map((code) => fc.record({ code: fc.constant(code), amount: fc.integer({ min: -4, max: 4 }).filter((n) => n !== 0) }))),
    );
    const multiArb = fc.record({
      seat: fc.constantFrom<HeldSeat>({ deviceId: 1, activationId: 'act-1', seatEpoch: 0, leaseExpiresAt: null }, { deviceId: 2, activationId: 'act-2', seatEpoch: 1, leaseExpiresAt: null }),
      // Most licenses usable, so that the generated changes reach the feature rules.
      usable: fc.constantFrom(true, true, true, false),
      // The positions as read are distinct; mostly the stored ones, sometimes swapped (the features changed since they were read).
      swapped: fc.constantFrom(false, false, false, true),
      deviceUses: fc.constantFrom(1, 2),
      negatives: fc.constantFrom<MultiFeatureChange['negatives']>('policy', 'floor-only'),
      changes: changesArb,
    });
    let accepted = 0;
    fc.assert(
      fc.property(licenseArb, multiArb, ({ license: generated }, m) => {
        const license: License = m.usable ? { ...generated, enabled: true, validUntil: null } : generated;
        const multi: MultiFeatureChange = {
          accountId: license.accountId,
          licenseId: license.id,
          seat: m.seat,
          deviceUses: m.deviceUses,
          negatives: m.negatives,
          now: NOW,
          changes: m.changes.map((c) => ({ ...c, index: (c.code === 'a') === m.swapped ? 1 : 0, outbox: ledgerOutboxEntry({ accountId: 7, licenseId: license.id, scope: 'feature', featureCode: c.code, deviceId: m.deviceUses, amount: c.amount, event: 'meter_increment', requestId: null, idempotencyKey: null, at: NOW }) })),
        };
        const refusals = multiFeatureRefusals(license, multi);
        const accepts = refusals.every((r) => r === null);
        if (accepts) accepted += 1;
        expect({ matched: matches(multiFeatureChangeFilter(multi), license), refusals }).toEqual({ matched: accepts, refusals });
      }),
      { numRuns: 1000 },
    );
    expect(accepted).toBeGreaterThan(10);
  });
});
