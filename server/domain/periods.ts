/**
 * Consumption periods. A counter with periodic reset returns to 0 at midnight UTC at the start of
 * each period: daily; weekly on Monday; monthly on the 1st; annually on 1 January.
 */
export const CONSUMPTION_PERIODS = ['daily', 'weekly', 'monthly', 'annually'] as const;
export type ConsumptionPeriod = (typeof CONSUMPTION_PERIODS)[number];

/** Accepts the documented values, and `annualy` (a spelling the Management API also accepts) as `annually`; undefined for anything else. */
export function parseConsumptionPeriod(value: string): ConsumptionPeriod | undefined {
  if (value === 'annualy') return 'annually';
  return (CONSUMPTION_PERIODS as readonly string[]).includes(value) ? (value as ConsumptionPeriod) : undefined;
}

/** The start of the period containing `at`. */
export function periodStart(period: ConsumptionPeriod, at: Date): Date {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  const d = at.getUTCDate();
  switch (period) {
    case 'daily':
      return new Date(Date.UTC(y, m, d));
    case 'weekly': {
      const sinceMonday = (at.getUTCDay() + 6) % 7;
      return new Date(Date.UTC(y, m, d - sinceMonday));
    }
    case 'monthly':
      return new Date(Date.UTC(y, m, 1));
    case 'annually':
      return new Date(Date.UTC(y, 0, 1));
  }
}

/** The end of the period containing `at` (= the start of the next one): when the counter resets. */
export function periodEnd(period: ConsumptionPeriod, at: Date): Date {
  const start = periodStart(period, at);
  const y = start.getUTCFullYear();
  const m = start.getUTCMonth();
  const d = start.getUTCDate();
  switch (period) {
    case 'daily':
      return new Date(Date.UTC(y, m, d + 1));
    case 'weekly':
      return new Date(Date.UTC(y, m, d + 7));
    case 'monthly':
      return new Date(Date.UTC(y, m + 1, 1));
    case 'annually':
      return new Date(Date.UTC(y + 1, 0, 1));
  }
}
