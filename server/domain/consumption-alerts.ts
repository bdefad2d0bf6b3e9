/**
 * Consumption alert thresholds: the rule of when a consumption reaches one, in its TypeScript form
 * and its query form (the guarded counter write carries the latter, so the thresholds a write
 * records are decided by the database on the value the write applies to, never computed afterwards).
 *
 * A meter's thresholds are percentages of its limit (`max`, overages not counted); threshold `p` is
 * the total `ceil(p × max / 100)`. A change of amount a > 0 applied to the total v reaches it when
 * v < T <= v + a: decided by v alone. Each threshold is recorded once per consumption period: the
 * write that reaches it adds it to the meter's `alerted` (cleared by the period reset), and a
 * threshold in `alerted` is reached by no later write of the period (so a refund below it and a
 * consumption back above it record nothing). A meter without a limit (`unlimited`) has none.
 */
import { DomainError } from './errors.js';
import type { EventIntent } from './events.js';
import type { MeterState } from './meter.js';
import type { MeterTarget } from './ports.js';
import { literal, type QueryDocument } from './query-forms.js';

/** The thresholds of a meter nobody set them for. */
export const DEFAULT_ALERT_THRESHOLDS: readonly number[] = [80, 100];

/** Thresholds as given by a caller: whole percentages 1..100, each once; returned in ascending order (the stored order). */
export function normalizeAlertThresholds(thresholds: readonly number[]): number[] {
  const seen = new Set<number>();
  for (const p of thresholds) {
    if (!Number.isInteger(p) || p < 1 || p > 100) throw new DomainError('invalid_input', 'consumption alert thresholds must be whole percentages from 1 to 100', { field: 'alertThresholds' });
    if (seen.has(p)) throw new DomainError('invalid_input', `consumption alert threshold ${p} is listed twice`, { field: 'alertThresholds' });
    seen.add(p);
  }
  return [...seen].sort((a, b) => a - b);
}

/** The total at which threshold `percent` of a meter with limit `max` is reached (`$ceil` of `$divide` in the query form: the same arithmetic). */
export function thresholdUses(max: number, percent: number): number {
  return Math.ceil((max * percent) / 100);
}

type AlertMeter = Pick<MeterState, 'max' | 'unlimited' | 'total' | 'alertThresholds' | 'alerted'>;

/** The thresholds (percent, in stored order) that a change of `amount` applied to `meter` reaches now. */
export function crossedThresholds(meter: AlertMeter, amount: number): number[] {
  if (amount <= 0 || meter.unlimited) return [];
  return meter.alertThresholds.filter((p) => {
    if (meter.alerted.includes(p)) return false;
    const t = thresholdUses(meter.max, p);
    return meter.total < t && t <= meter.total + amount;
  });
}

/**
 * The query form of `crossedThresholds(meter, amount)` over the stored meter `m` (a field path such
 * as `$consumption`, or `$$m`): an aggregation expression whose value is the array of percentages.
 * A meter stored before thresholds existed has the default ones and none alerted.
 */
export function crossedThresholdsExpression(m: string, amount: number): QueryDocument {
  return {
    $filter: {
      input: { $cond: [{ $eq: [`${m}.unlimited`, true] }, [], { $ifNull: [`${m}.alertThresholds`, literal(DEFAULT_ALERT_THRESHOLDS)] }] },
      as: 'p',
      cond: {
        $and: [
          { $not: [{ $in: ['$$p', { $ifNull: [`${m}.alerted`, []] }] }] },
          {
            $let: {
              vars: { t: { $ceil: { $divide: [{ $multiply: [`${m}.max`, '$$p'] }, 100] } } },
              in: { $and: [{ $lt: [`${m}.total`, '$$t'] }, { $lte: ['$$t', { $add: [`${m}.total`, amount] }] }] },
            },
          },
        ],
      },
    },
  };
}

/**
 * Conditions under which a change of `amount` on the stored meter `m` reaches no threshold, each one
 * comparison (so that the guard of most writes costs no more than the limit's): no limit; the total
 * after it below the lowest threshold (`(total + amount) × 100 < max × p1` implies
 * `total + amount < ceil(max × p1 / 100)`, and thresholds are stored ascending); or the total already
 * at or above the highest (`total × 100 >= max × pn`). They only shortcut crossedThresholdsExpression
 * being empty, never disagree with it (test/domain/query-forms.property.test.ts).
 */
function reachesNoneShortcuts(m: string, amount: number): QueryDocument[] {
  const thresholds = { $ifNull: [`${m}.alertThresholds`, literal(DEFAULT_ALERT_THRESHOLDS)] };
  const scaled = (pct: QueryDocument) => ({ $multiply: [`${m}.max`, pct] });
  return [
    { $eq: [`${m}.unlimited`, true] },
    { $lt: [{ $multiply: [{ $add: [`${m}.total`, amount] }, 100] }, scaled({ $arrayElemAt: [thresholds, 0] })] },
    { $gte: [{ $multiply: [`${m}.total`, 100] }, scaled({ $arrayElemAt: [thresholds, -1] })] },
  ];
}

/**
 * What a counter write records of the thresholds: the percentages it reaches (`crossed`, as the
 * request expects them from the meter it last read; [] when it read none), and, when there are any,
 * the meter's limit and period as read (the write is guarded by them, so the events it records name
 * them exactly).
 */
export interface ThresholdExpectation {
  crossed: number[];
  /** Set when `crossed` is not empty. */
  asRead?: { max: number; resetAt: Date | null; /** Null when the meter does not reset. */ period: MeterState['period'] };
}

/** What a write through `meter` as read should expect (crossedThresholds of it). */
export function expectThresholds(meter: AlertMeter & Pick<MeterState, 'resetAt' | 'period'>, amount: number): ThresholdExpectation {
  const crossed = crossedThresholds(meter, amount);
  return crossed.length === 0 ? { crossed } : { crossed, asRead: { max: meter.max, resetAt: meter.resetAt, period: meter.resetAt === null ? null : meter.period } };
}

/** Whether two expectations record the same thresholds. */
export function sameThresholds(a: ThresholdExpectation, b: ThresholdExpectation): boolean {
  return a.crossed.length === b.crossed.length && a.crossed.every((p, i) => p === b.crossed[i]);
}

/**
 * The guard of a write expecting `expected`: the thresholds the database finds it reaching are
 * exactly the expected ones (an `$expr` condition), and, when it reaches any, the meter still has the
 * limit and period as read (plain conditions on the stored meter, keys relative to it).
 */
export function thresholdGuard(m: string, amount: number, expected: ThresholdExpectation): { expr: QueryDocument; meter: QueryDocument } {
  const exact = { $eq: [crossedThresholdsExpression(m, amount), literal(expected.crossed)] };
  const expr = expected.crossed.length === 0 ? { $or: [...reachesNoneShortcuts(m, amount), exact] } : exact;
  const meter: QueryDocument = expected.asRead ? { max: expected.asRead.max, resetAt: expected.asRead.resetAt } : {};
  return { expr, meter };
}

/** The `consumption.threshold-reached` intents of a write on `target` that reaches `expected` (recorded in the same write). */
export function thresholdIntents(accountId: number, target: MeterTarget, expected: ThresholdExpectation): EventIntent[] {
  const asRead = expected.asRead;
  if (!asRead) return [];
  return expected.crossed.map((percent) => ({
    type: 'consumption.threshold-reached' as const,
    accountId,
    scope: target.scope,
    featureCode: target.scope === 'feature' ? target.code : null,
    percent,
    limit: asRead.max,
    thresholdUses: thresholdUses(asRead.max, percent),
    period: asRead.period,
    periodEndsAt: asRead.resetAt,
  }));
}
