import { describe, expect, it } from 'vitest';
import { DomainError } from '../../server/domain/errors.js';
import { EMPTY_METER } from '../../server/domain/license-features.js';
import { assertUsable, exceedsLimit, floatingUsesOf, locateLicense, MAX_ATTEMPTS, MAX_MOVED_ATTEMPTS, MOVED, resetDuePeriod, retryOnConflict, RETRY, heldSeatRefusal, usabilityOf } from '../../server/domain/license-rules.js';
import { periodEnd } from '../../server/domain/periods.js';
import type { MeterState } from '../../server/domain/meter.js';
import type { License } from '../../server/domain/types.js';
import { errorCodeOf, featureArb, licenseWith } from './license-arbitraries.js';
import fc from 'fast-check';

const VALID_UNTIL = new Date('2026-06-01T12:00:00Z');
const [feature] = fc.sample(featureArb('a'), { numRuns: 1, seed: 1 });
const license = (l: Partial<License> = {}): License =>
  licenseWith({
    features: [feature!],
    timesActivated: 2,
    ...l,
  });
const codeOf = errorCodeOf;

describe('license rules', () => {
  it('usabilityOf: usable until the validUntil instant, expired from it on; disabled first', () => {
    const l = license({ validUntil: VALID_UNTIL });
    expect(usabilityOf(l, new Date(VALID_UNTIL.getTime() - 1))).toBe('usable');
    expect(usabilityOf(l, VALID_UNTIL)).toBe('expired');
    expect(usabilityOf(l, new Date(VALID_UNTIL.getTime() + 1))).toBe('expired');
    expect(usabilityOf(license({ validUntil: null }), new Date('2999-01-01T00:00:00Z'))).toBe('usable');
    expect(usabilityOf(license({ enabled: false, validUntil: VALID_UNTIL }), VALID_UNTIL)).toBe('disabled');
  });

  it('assertUsable throws license_disabled / license_expired', async () => {
    expect(await codeOf(() => assertUsable(license({ enabled: false }), VALID_UNTIL))).toBe('license_disabled');
    expect(await codeOf(() => assertUsable(license({ validUntil: VALID_UNTIL }), VALID_UNTIL))).toBe('license_expired');
    expect(await codeOf(() => assertUsable(license(), VALID_UNTIL))).toBe('ok');
  });

  it('heldSeatRefusal: a seat is a live active device of this license; a blacklisted one is refused as such', () => {
    const device = { licenseId: 7, active: true, blacklisted: false, leaseExpiresAt: null };
    const now = new Date('2026-12-01T12:00:00Z');
    expect(heldSeatRefusal(device, 7, now)).toBeNull();
    expect(heldSeatRefusal({ ...device, leaseExpiresAt: new Date('2026-12-01T12:00:01Z') }, 7, now)).toBeNull();
    expect(heldSeatRefusal({ ...device, leaseExpiresAt: now }, 7, now)).toBe('seat_missing');
    expect(heldSeatRefusal({ ...device, leaseExpiresAt: new Date('2026-12-01T11:00:00Z') }, 7, now)).toBe('seat_missing');
    expect(heldSeatRefusal(null, 7, now)).toBe('seat_missing');
    expect(heldSeatRefusal(device, 8, now)).toBe('seat_missing');
    expect(heldSeatRefusal({ ...device, active: false }, 7, now)).toBe('seat_missing');
    expect(heldSeatRefusal({ ...device, active: false, blacklisted: true }, 7, now)).toBe('seat_missing');
    expect(heldSeatRefusal({ ...device, blacklisted: true }, 7, now)).toBe('device_blacklisted');
  });

  it('exceedsLimit: passing the ceiling, or a cap that tightens the overage allowance', () => {
    const m = (s: Partial<MeterState>): MeterState => ({ ...EMPTY_METER, max: 10, ceiling: 10, ...s });
    expect(exceedsLimit(m({}), 10, undefined)).toBe(false);
    expect(exceedsLimit(m({}), 11, undefined)).toBe(true);
    expect(exceedsLimit(m({ ceiling: null, unlimited: true }), 1_000_000, undefined)).toBe(false);
    const overages = m({ allowOverages: true, maxOverages: 5, ceiling: 15 });
    expect(exceedsLimit(overages, 15, undefined)).toBe(false);
    expect(exceedsLimit(overages, 11, { allowOverages: false })).toBe(true);
    expect(exceedsLimit(overages, 10, { allowOverages: false })).toBe(false);
    expect(exceedsLimit(overages, 12, { maxOverages: 2 })).toBe(false);
    expect(exceedsLimit(overages, 13, { maxOverages: 2 })).toBe(true);
    // A cap never loosens: maxOverages 0 (unlimited) and allowOverages true leave the ceiling.
    expect(exceedsLimit(overages, 16, { allowOverages: true, maxOverages: 0 })).toBe(true);
    // An unlimited meter ignores caps.
    expect(exceedsLimit(m({ unlimited: true, ceiling: null }), 50, { allowOverages: false })).toBe(false);
  });

  it('floatingUsesOf: the device uses of floating features, or of every feature when the license floats', () => {
    const base = license();
    const [a] = base.features;
    const features = [
      { ...a!, code: 'a', isFloating: true, uses: { '1': 3 } },
      { ...a!, code: 'b', isFloating: false, uses: { '1': 4 } },
    ];
    expect(floatingUsesOf({ ...base, features }, 1)).toEqual([{ code: 'a', index: 0, uses: 3 }]);
    expect(floatingUsesOf({ ...base, features, isFloating: true }, 1)).toEqual([
      { code: 'a', index: 0, uses: 3 },
      { code: 'b', index: 1, uses: 4 },
    ]);
    expect(floatingUsesOf({ ...base, features }, 2)).toEqual([{ code: 'a', index: 0, uses: 0 }]);
  });

  it('retryOnConflict: returns the first result, retries RETRY up to MAX_ATTEMPTS times, then concurrent_modification', async () => {
    let calls = 0;
    expect(await retryOnConflict(async (n) => (n < 2 ? RETRY : `done after ${++calls} call at attempt ${n}`))).toBe('done after 1 call at attempt 2');
    calls = 0;
    const attempts: number[] = [];
    expect(
      await codeOf(
        retryOnConflict(async (n) => {
          attempts.push(n);
          return RETRY;
        }),
      ),
    ).toBe('concurrent_modification');
    expect(attempts).toEqual(Array.from({ length: MAX_ATTEMPTS }, (_, i) => i));
    expect(MAX_ATTEMPTS).toBe(6);
    // MOVED (the counter moved across alert thresholds: another write succeeded) does not use up the
    // attempts, but is bounded too: MAX_ATTEMPTS RETRYs after MAX_MOVED_ATTEMPTS MOVEDs still end the loop.
    let moved = 0;
    expect(await retryOnConflict(async () => (++moved <= MAX_MOVED_ATTEMPTS ? MOVED : 'done'))).toBe('done');
    expect(moved).toBe(MAX_MOVED_ATTEMPTS + 1);
    const outcomes: string[] = [];
    expect(
      await codeOf(
        retryOnConflict(async (n) => {
          outcomes.push(n % 2 === 0 ? 'moved' : 'retry');
          return n % 2 === 0 ? MOVED : RETRY;
        }),
      ),
    ).toBe('concurrent_modification');
    expect(outcomes.filter((o) => o === 'retry')).toHaveLength(MAX_ATTEMPTS);
    expect(await codeOf(retryOnConflict(async () => MOVED))).toBe('concurrent_modification');
    // An attempt's error ends the loop at once.
    expect(
      await codeOf(
        retryOnConflict(async () => {
          calls += 1;
          throw new DomainError('license_expired', 'The license has expired');
        }),
      ),
    ).toBe('license_expired');
    expect(calls).toBe(1);
  });

  it('locateLicense: the license, else product_not_found for an unknown product, else license_not_found', async () => {
    const stored = { ...license(), recentOpKeys: [], pending: [] };
    const meters = { find: async (_accountId: number, locator: object) => ('licenseId' in locator && locator.licenseId === stored.id ? stored : null) };
    const products = { productExists: async (_accountId: number, code: string) => code === 'p' };
    expect(await locateLicense(meters, products, 7, { licenseId: stored.id })).toBe(stored);
    expect(await codeOf(locateLicense(meters, products, 7, { licenseId: 999 }))).toBe('license_not_found');
    expect(await codeOf(locateLicense(meters, products, 7, { productCode: 'p', key: 'NOPE' }))).toBe('license_not_found');
    expect(await codeOf(locateLicense(meters, products, 7, { productCode: 'q', key: 'NOPE' }))).toBe('product_not_found');
    expect(await codeOf(locateLicense(meters, products, 7, { productCode: 'q', username: 'u@example.com' }))).toBe('product_not_found');
  });

  it('resetDuePeriod: one guarded reset to the next period end after now, from the total as read; none without a period', async () => {
    const calls: unknown[][] = [];
    const settled: unknown[][] = [];
    let resets = true;
    const meters = { resetPeriod: async (...args: unknown[]) => (calls.push(args), resets ? { license: license(), pending: [] } : null) };
    const events = { settle: async (...args: unknown[]) => void settled.push(args) };
    const now = new Date('2026-03-31T23:59:59Z');
    const resetAt = new Date('2026-03-01T00:00:00Z');
    await resetDuePeriod(meters, events, { accountId: 7, id: 9 }, { scope: 'feature', code: 'a' }, { period: 'monthly', resetAt, total: 42 }, now);
    expect(calls).toEqual([[7, 9, { scope: 'feature', code: 'a' }, { resetAt, total: 42 }, periodEnd('monthly', now), now]]);
    // The reset's ledger entry is moved right away (a refusal after the reset leaves nothing pending).
    expect(settled).toHaveLength(1);
    await resetDuePeriod(meters, events, { accountId: 7, id: 9 }, { scope: 'license' }, { period: null, resetAt, total: 1 }, now);
    await resetDuePeriod(meters, events, { accountId: 7, id: 9 }, { scope: 'license' }, { period: 'daily', resetAt: null, total: 1 }, now);
    expect(calls).toHaveLength(1);
    // A caller that lost the race to reset settles nothing (the winner does).
    resets = false;
    await resetDuePeriod(meters, events, { accountId: 7, id: 9 }, { scope: 'license' }, { period: 'daily', resetAt, total: 1 }, now);
    expect([calls.length, settled.length]).toEqual([2, 1]);
  });
});
