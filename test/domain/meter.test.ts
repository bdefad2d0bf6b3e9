import { describe, expect, it } from 'vitest';
import { ceilingOf, currentTotal, isPeriodDue, resetAtFor, type MeterPolicy } from '../../server/domain/meter.js';

const policy = (p: Partial<MeterPolicy> = {}): MeterPolicy => ({ max: 10, unlimited: false, allowNegative: false, allowOverages: false, maxOverages: 0, reset: false, period: null, alertThresholds: [80, 100], ...p });

describe('meter rules', () => {
  it('ceilingOf: max without overages; max + overages; none when unlimited or overages are unlimited (0)', () => {
    expect(ceilingOf(policy())).toBe(10);
    expect(ceilingOf(policy({ maxOverages: 5 }))).toBe(10); // overages not allowed: maxOverages is ignored
    expect(ceilingOf(policy({ allowOverages: true, maxOverages: 5 }))).toBe(15);
    expect(ceilingOf(policy({ allowOverages: true, maxOverages: 0 }))).toBeNull();
    expect(ceilingOf(policy({ unlimited: true, allowOverages: true, maxOverages: 5 }))).toBeNull();
    expect(ceilingOf(policy({ max: 0 }))).toBe(0);
  });

  it('resetAtFor: the end of the current period when the meter resets, else null', () => {
    const now = new Date('2026-03-10T10:00:00Z');
    expect(resetAtFor(policy({ reset: true, period: 'daily' }), now)?.toISOString()).toBe('2026-03-11T00:00:00.000Z');
    expect(resetAtFor(policy({ reset: true, period: 'monthly' }), now)?.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(resetAtFor(policy({ reset: false, period: 'daily' }), now)).toBeNull();
    expect(resetAtFor(policy({ reset: true, period: null }), now)).toBeNull();
  });

  it('a period is due from its resetAt instant on; a due meter reads a total of 0', () => {
    const resetAt = new Date('2026-03-11T00:00:00Z');
    const before = new Date(resetAt.getTime() - 1);
    expect(isPeriodDue({ resetAt }, before)).toBe(false);
    expect(isPeriodDue({ resetAt }, resetAt)).toBe(true);
    expect(isPeriodDue({ resetAt: null }, resetAt)).toBe(false);
    expect(currentTotal({ total: 7, resetAt }, before)).toBe(7);
    expect(currentTotal({ total: 7, resetAt }, resetAt)).toBe(0);
    expect(currentTotal({ total: 7, resetAt: null }, resetAt)).toBe(7);
  });
});
