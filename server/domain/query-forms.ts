/**
 * The query forms of the license rules are plain data: MongoDB query filters, update documents and
 * aggregation expressions that the database evaluates in the same atomic write as the change they
 * guard. The domain builds them next to the TypeScript form of each rule (license-rules.ts, meter.ts,
 * license-features.ts, ledger-entries.ts); `server/db/` only executes them.
 */

/** A MongoDB filter, update document or aggregation expression, loosely typed. */
export type QueryDocument = Record<string, unknown>;

/**
 * A value from a caller inside an aggregation expression, kept as data: strings starting with `$`
 * and objects with `$` keys are not read as field paths or operators.
 */
export function literal(value: unknown): QueryDocument {
  return { $literal: value };
}

/** Whether a moment (an end of validity, an expiry, the end of a period) has come at `now`; null never comes. */
export function hasPassed(moment: Date | null, now: Date): boolean {
  return moment !== null && moment.getTime() <= now.getTime();
}

/** The query form of `!hasPassed(field, now)`: the field is null (or absent) or later than `now`. */
export function notPassedFilter(field: string, now: Date): QueryDocument {
  return { $or: [{ [field]: null }, { [field]: { $gt: now } }] };
}
