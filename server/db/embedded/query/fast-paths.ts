/**
 * Fast paths for the commonest shapes of filters and `$bucket` stages, answered without mingo's
 * interpreter (which resolves paths and operators again for every document). Each fast path
 * handles only values whose answer is unambiguous - a top-level field holding a number, a string or
 * a date - and hands anything else (arrays, embedded documents, missing fields, other types, NaN)
 * to mingo, so the answers are exactly mingo's; the engine's conformance and matcher tests run both.
 */
import type { Doc } from '../values.js';
import type { Predicate } from './compile.js';

/** Whether the fast paths are used (tests turn them off to compare the answers with mingo's). */
export const fastPaths = { enabled: true };

const RANGE_OPERATORS = new Set(['$gt', '$gte', '$lt', '$lte']);

/** A top-level field name (no path into embedded documents or arrays). */
const isTopLevelField = (field: string): boolean => field.length > 0 && !field.includes('.') && !field.startsWith('$');

const isPlainNumber = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);

/** The field of a document (undefined - mingo's to answer - for anything that is not one: null, an array, a scalar). */
const fieldOf = (obj: unknown, field: string): unknown => (obj !== null && typeof obj === 'object' && !Array.isArray(obj) ? (obj as Doc)[field] : undefined);

function rangeTest(op: string): (a: number, b: number) => boolean {
  switch (op) {
    case '$gt':
      return (a, b) => a > b;
    case '$gte':
      return (a, b) => a >= b;
    case '$lt':
      return (a, b) => a < b;
    default:
      return (a, b) => a <= b;
  }
}

/**
 * A predicate for `{field: {op: rhs}}` that answers from the document's own value when it is a
 * scalar of the right type and asks `slow` (mingo's predicate) otherwise; undefined when the
 * condition has no fast form.
 */
export function fastCondition(field: string, op: string, rhs: unknown, slow: Predicate): Predicate | undefined {
  if (!fastPaths.enabled || !isTopLevelField(field)) return undefined;
  if (RANGE_OPERATORS.has(op)) {
    const test = rangeTest(op);
    if (isPlainNumber(rhs)) {
      return (obj) => {
        const v = fieldOf(obj, field);
        return isPlainNumber(v) ? test(v, rhs) : slow(obj);
      };
    }
    if (rhs instanceof Date && !Number.isNaN(rhs.getTime())) {
      const t = rhs.getTime();
      return (obj) => {
        const v = fieldOf(obj, field);
        return v instanceof Date && !Number.isNaN(v.getTime()) ? test(v.getTime(), t) : slow(obj);
      };
    }
    return undefined;
  }
  if (op === '$eq') {
    if (typeof rhs === 'string') {
      return (obj) => {
        const v = fieldOf(obj, field);
        return typeof v === 'string' ? v === rhs : slow(obj);
      };
    }
    if (isPlainNumber(rhs)) {
      return (obj) => {
        const v = fieldOf(obj, field);
        return isPlainNumber(v) ? v === rhs : slow(obj);
      };
    }
    return undefined;
  }
  if (op === '$in' && Array.isArray(rhs) && rhs.every((v) => typeof v === 'string' || isPlainNumber(v))) {
    // Strings and numbers only: a string or a number matches exactly when it is one of them.
    const values = new Set<unknown>(rhs);
    return (obj) => {
      const v = fieldOf(obj, field);
      return typeof v === 'string' || isPlainNumber(v) ? values.has(v) : slow(obj);
    };
  }
  return undefined;
}

/** A value computed from a document, or FAST_PATH_FALLBACK when only mingo can tell. */
export const FAST_PATH_FALLBACK: unique symbol = Symbol('fallback');
type Value = number | string | null | undefined | Date | typeof FAST_PATH_FALLBACK;
type Expression = (doc: Doc) => Value;

const COMPARISONS: Record<string, (a: number, b: number) => boolean> = {
  $gt: (a, b) => a > b,
  $gte: (a, b) => a >= b,
  $lt: (a, b) => a < b,
  $lte: (a, b) => a <= b,
  $eq: (a, b) => a === b,
  $ne: (a, b) => a !== b,
};

/** `'$field'`, a number, `{$toLong: e}` of a date, `{$cond: ...}` over number comparisons; null when the shape has no fast form. */
function compileExpression(expr: unknown): Expression | null {
  if (isPlainNumber(expr)) return () => expr;
  if (typeof expr === 'string') {
    if (!expr.startsWith('$') || expr.startsWith('$$')) return null;
    const field = expr.slice(1);
    if (!isTopLevelField(field)) return null;
    return (doc) => {
      const v = fieldOf(doc, field);
      return v === undefined || v === null || typeof v === 'string' || isPlainNumber(v) || v instanceof Date ? v : FAST_PATH_FALLBACK;
    };
  }
  if (expr === null || typeof expr !== 'object' || Array.isArray(expr)) return null;
  const keys = Object.keys(expr);
  if (keys.length !== 1) return null;
  const op = keys[0]!;
  const arg = (expr as Doc)[op];
  if (op === '$toLong') {
    const inner = compileExpression(Array.isArray(arg) && arg.length === 1 ? arg[0] : arg);
    if (!inner) return null;
    return (doc) => {
      const v = inner(doc);
      return v instanceof Date && !Number.isNaN(v.getTime()) ? v.getTime() : FAST_PATH_FALLBACK;
    };
  }
  if (op === '$cond') {
    const parts = Array.isArray(arg) ? arg : arg !== null && typeof arg === 'object' ? [(arg as Doc).if, (arg as Doc).then, (arg as Doc).else] : null;
    if (!parts || parts.length !== 3) return null;
    const [test, then, otherwise] = parts.map(compileExpression);
    if (!test || !then || !otherwise) return null;
    return (doc) => {
      const t = test(doc);
      if (typeof t !== 'boolean') return FAST_PATH_FALLBACK;
      return t ? then(doc) : otherwise(doc);
    };
  }
  const compare = COMPARISONS[op];
  if (compare && Array.isArray(arg) && arg.length === 2) {
    const [left, right] = arg.map(compileExpression);
    if (!left || !right) return null;
    return ((doc: Doc) => {
      const a = left(doc);
      const b = right(doc);
      return isPlainNumber(a) && isPlainNumber(b) ? compare(a, b) : FAST_PATH_FALLBACK;
    }) as unknown as Expression;
  }
  return null;
}

interface SumOutput {
  field: string;
  /** `$sum` of a constant: mingo multiplies it by the group's size. */
  constant?: number;
  value?: Expression;
}

/**
 * A `$bucket` stage whose `groupBy` yields numbers (dates through `$toLong`), whose boundaries are
 * numbers, without `default` reached, and whose outputs are `$sum`s of fast expressions: grouped and
 * summed in one pass. `run` answers FAST_PATH_FALLBACK when a document needs mingo (the stage is then run
 * by mingo from the start); `compileFastBucket` answers null when the stage has no fast form.
 */
export function compileFastBucket(expr: { groupBy: unknown; boundaries: unknown[]; default?: unknown; output?: Record<string, unknown> }): { run(docs: readonly Doc[]): Array<Record<string, unknown>> | typeof FAST_PATH_FALLBACK } | null {
  const bounds = expr.boundaries;
  if (!fastPaths.enabled || !bounds.every(isPlainNumber)) return null;
  const groupBy = compileExpression(expr.groupBy);
  if (!groupBy) return null;
  const outputs: SumOutput[] = [];
  for (const [field, spec] of Object.entries(expr.output ?? { count: { $sum: 1 } })) {
    if (spec === null || typeof spec !== 'object' || Object.keys(spec).length !== 1 || !('$sum' in spec)) return null;
    const arg = (spec as Doc).$sum;
    if (isPlainNumber(arg)) {
      outputs.push({ field, constant: arg });
      continue;
    }
    const value = compileExpression(arg);
    if (!value) return null;
    outputs.push({ field, value });
  }
  const lower = bounds[0] as number;
  const upper = bounds[bounds.length - 1] as number;
  return {
    run(docs) {
      const buckets = bounds.length - 1;
      const counts = new Array<number>(buckets).fill(0);
      const sums = outputs.map(() => new Array<number>(buckets).fill(0));
      for (const doc of docs) {
        const key = groupBy(doc);
        // Outside the boundaries (the `default` bucket or an error) and non-numbers: mingo's to answer.
        if (!isPlainNumber(key) || key < lower || key >= upper) return FAST_PATH_FALLBACK;
        let lo = 0;
        let hi = buckets - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if ((bounds[mid] as number) <= key) lo = mid;
          else hi = mid - 1;
        }
        counts[lo]! += 1;
        for (let i = 0; i < outputs.length; i++) {
          const out = outputs[i]!;
          if (!out.value) continue;
          const v = out.value(doc);
          if (v === FAST_PATH_FALLBACK) return FAST_PATH_FALLBACK;
          // $sum ignores what is not a number.
          if (isPlainNumber(v)) sums[i]![lo]! += v;
        }
      }
      const result: Array<Record<string, unknown>> = [];
      for (let b = 0; b < buckets; b++) {
        if (counts[b] === 0) continue;
        const row: Record<string, unknown> = {};
        outputs.forEach((out, i) => (row[out.field] = out.constant !== undefined ? counts[b]! * out.constant : sums[i]![b]));
        row._id = bounds[b];
        result.push(row);
      }
      return result;
    },
  };
}

