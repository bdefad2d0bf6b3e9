import { periodEnd, CONSUMPTION_PERIODS } from '../domain/periods.js';
import type { MeterFieldChanges } from '../domain/ports.js';

/**
 * Aggregation expressions over meters, for pipeline updates that change a meter's settings while
 * keeping the counter exactly as the stored document has it when the write applies (never a value
 * read earlier). Every value that comes from a caller is wrapped in `$literal`, so strings starting
 * with `$` and objects with `$` keys stay data.
 */

export function literal(value: unknown): object {
  return { $literal: value };
}

/** `ceilingOf` (domain/meter.ts) as an expression over the meter `m` (a `$$var`). */
export function ceilingExpression(m: string): object {
  return {
    $cond: [
      { $eq: [`${m}.unlimited`, true] },
      null,
      { $cond: [{ $ne: [`${m}.allowOverages`, true] }, `${m}.max`, { $cond: [{ $eq: [`${m}.maxOverages`, 0] }, null, { $add: [`${m}.max`, `${m}.maxOverages`] }] }] },
    ],
  };
}

/** `resetAtFor` (domain/meter.ts) at `now` as an expression over the meter `m`. */
export function resetAtExpression(m: string, now: Date): object {
  return {
    $cond: [
      { $eq: [`${m}.reset`, true] },
      { $switch: { branches: CONSUMPTION_PERIODS.map((p) => ({ case: { $eq: [`${m}.period`, p] }, then: periodEnd(p, now) })), default: null } },
      null,
    ],
  };
}

/**
 * The meter `old` (an expression) with `changes` merged in and its derived fields recomputed, as
 * `applyMeterSettings` does: the ceiling from the new policy; the reset time anew when the reset
 * policy changed or none was set, else kept. With `total`, the counter is set (gross grows by any
 * increase); without it, the counter is whatever `old` holds at write time.
 */
export function mergedMeterExpression(old: object | string, changes: MeterFieldChanges, now: Date, total?: number): object {
  const set: Record<string, unknown> = { ...changes };
  return {
    $let: {
      vars: { o: old },
      in: {
        $let: {
          vars: { m: { $mergeObjects: ['$$o', literal(set)] } },
          in: {
            $mergeObjects: [
              '$$m',
              {
                ceiling: ceilingExpression('$$m'),
                resetAt: {
                  $cond: [
                    {
                      $or: [
                        { $ne: ['$$m.reset', '$$o.reset'] },
                        { $ne: [{ $ifNull: ['$$m.period', null] }, { $ifNull: ['$$o.period', null] }] },
                        { $eq: [{ $ifNull: ['$$o.resetAt', null] }, null] },
                      ],
                    },
                    resetAtExpression('$$m', now),
                    '$$o.resetAt',
                  ],
                },
                ...(total === undefined
                  ? {}
                  : {
                      total: literal(total),
                      gross: { $add: [{ $ifNull: ['$$o.gross', 0] }, { $max: [0, { $subtract: [total, { $ifNull: ['$$o.total', 0] }] }] }] },
                    }),
              },
            ],
          },
        },
      },
    },
  };
}

/** The element of `$features` with this code, or null. */
export function featureByCode(code: string): object {
  return {
    $let: {
      vars: { found: { $filter: { input: { $ifNull: ['$features', []] }, as: 'f', cond: { $eq: ['$$f.code', literal(code)] } } } },
      in: { $cond: [{ $gt: [{ $size: '$$found' }, 0] }, { $arrayElemAt: ['$$found', 0] }, null] },
    },
  };
}
