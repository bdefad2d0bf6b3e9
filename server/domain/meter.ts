import { CONSUMPTION_PERIODS, periodEnd, type ConsumptionPeriod } from './periods.js';
import { hasPassed, notPassedFilter, type QueryDocument } from './query-forms.js';

/**
 * A meter is one usage counter with its rules: the license-level consumption of a license, or one
 * feature of a license (a "meter attribute" in the Web API v3). All counters follow these rules.
 */
export interface MeterPolicy {
  /** Allowed consumptions per period (ignored when `unlimited`). */
  max: number;
  unlimited: boolean;
  /** Whether negative consumptions (decrements) are accepted. */
  allowNegative: boolean;
  allowOverages: boolean;
  /** Extra consumptions beyond `max` when `allowOverages`; 0 with `allowOverages` means unlimited overages. */
  maxOverages: number;
  /** Whether `total` returns to 0 at the start of each `period`. */
  reset: boolean;
  period: ConsumptionPeriod | null;
  /** Consumption alert thresholds in percent of `max`, ascending (see consumption-alerts.ts). */
  alertThresholds: number[];
}

export interface MeterState extends MeterPolicy {
  /** Consumptions in the current period (never below 0). */
  total: number;
  /** Lifetime consumptions: only ever grows (not reduced by decrements, resets or deletions). */
  gross: number;
  /** Derived from the policy: the highest `total` allowed, or null when unlimited. Kept in the document so the guard is one comparison. */
  ceiling: number | null;
  /** When the current period ends and `total` is due to return to 0; null without periodic reset. */
  resetAt: Date | null;
  /** The alert thresholds (percent) reached in the current period (cleared when the period resets). */
  alerted: number[];
}

/** The highest total a meter may reach under its policy, or null when nothing limits it. */
export function ceilingOf(policy: MeterPolicy): number | null {
  if (policy.unlimited) return null;
  if (!policy.allowOverages) return policy.max;
  if (policy.maxOverages === 0) return null;
  return policy.max + policy.maxOverages;
}

/** `ceilingOf` as an aggregation expression over the stored meter `m` (a field path or `$$var`). */
export function ceilingExpression(m: string): QueryDocument {
  return {
    $cond: [
      { $eq: [`${m}.unlimited`, true] },
      null,
      { $cond: [{ $ne: [`${m}.allowOverages`, true] }, `${m}.max`, { $cond: [{ $eq: [`${m}.maxOverages`, 0] }, null, { $add: [`${m}.max`, `${m}.maxOverages`] }] }] },
    ],
  };
}

/** When a meter with this policy next resets, counted from `now`. */
export function resetAtFor(policy: Pick<MeterPolicy, 'reset' | 'period'>, now: Date): Date | null {
  return policy.reset && policy.period ? periodEnd(policy.period, now) : null;
}

/** `resetAtFor` at `now` as an aggregation expression over the stored meter `m`. */
export function resetAtExpression(m: string, now: Date): QueryDocument {
  return {
    $cond: [
      { $eq: [`${m}.reset`, true] },
      { $switch: { branches: CONSUMPTION_PERIODS.map((p) => ({ case: { $eq: [`${m}.period`, p] }, then: periodEnd(p, now) })), default: null } },
      null,
    ],
  };
}

/** Whether the meter's current period has ended at `now` (its total is due to return to 0). */
export function isPeriodDue(meter: Pick<MeterState, 'resetAt'>, now: Date): boolean {
  return hasPassed(meter.resetAt, now);
}

/** The query form of `!isPeriodDue`, on the stored meter at `prefix` (`'consumption.'`, or `''` inside a feature's `$elemMatch`). */
export function periodNotDueFilter(now: Date, prefix = ''): QueryDocument {
  return notPassedFilter(`${prefix}resetAt`, now);
}

/** The state a meter shows at `now`: a period that has ended reads as a total of 0. */
export function currentTotal(meter: Pick<MeterState, 'total' | 'resetAt'>, now: Date): number {
  return isPeriodDue(meter, now) ? 0 : meter.total;
}
