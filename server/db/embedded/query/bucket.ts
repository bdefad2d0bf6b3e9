/**
 * `$bucket` as MongoDB answers it (mingo 7's differs in two ways): a `groupBy` value equal to a
 * boundary falls in the bucket that *starts* at that boundary (each bucket is [lower, upper)), and
 * only buckets that received at least one document are output (mingo put a boundary value in the
 * bucket below and listed empty buckets too). Buckets come in boundary order, the `default` bucket
 * last. Validation is mingo's (same messages as before). Stages of the commonest shape are
 * grouped and summed in one pass (fast-paths.ts), with the same answers.
 */
import { evalExpr } from 'mingo/core';
import { Lazy, type Iterator } from 'mingo/lazy';
import type { Options } from 'mingo/types';
import { assert, compare, isNil, typeOf } from 'mingo/util';
import type { Doc } from '../values.js';
import { compileFastBucket, FAST_PATH_FALLBACK } from './fast-paths.js';

interface BucketExpr {
  groupBy: unknown;
  boundaries: unknown[];
  default?: unknown;
  output?: Record<string, unknown>;
}

/** The index of the bucket [bounds[i], bounds[i + 1]) holding `key` (bounds ascending, key within range). */
function bucketIndex(bounds: readonly unknown[], key: unknown): number {
  let lo = 0;
  let hi = bounds.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (compare(bounds[mid], key) <= 0) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function $bucket(coll: Iterator, expr: BucketExpr, options: Options): Iterator {
  const bounds = expr.boundaries.slice();
  const defaultKey = expr.default;
  const lower = bounds[0];
  const upper = bounds[bounds.length - 1];
  const outputExpr = expr.output ?? { count: { $sum: 1 } };
  assert(bounds.length > 1, '$bucket: must specify at least two boundaries.');
  assert(
    bounds.every((v, i) => i === 0 || (typeOf(v) === typeOf(bounds[i - 1]) && compare(v, bounds[i - 1]) > 0)),
    '$bucket: bounds must be of same type and in ascending order',
  );
  assert(
    isNil(defaultKey) || typeOf(defaultKey) !== typeOf(lower) || compare(defaultKey, upper) >= 0 || compare(defaultKey, lower) < 0,
    "$bucket: 'default' expression must be out of boundaries range",
  );
  const fast = compileFastBucket(expr);
  const build = (): Array<Record<string, unknown>> => {
    const docs = coll.collect() as Doc[];
    if (fast) {
      const answer = fast.run(docs);
      if (answer !== FAST_PATH_FALLBACK) return answer;
    }
    const groups: unknown[][] = bounds.slice(0, -1).map(() => []);
    const outside: unknown[] = [];
    docs.forEach((obj: unknown) => {
      const key = evalExpr(obj, expr.groupBy, options);
      if (isNil(key) || compare(key, lower) < 0 || compare(key, upper) >= 0) {
        assert(!isNil(defaultKey), '$bucket require a default for out of range values');
        outside.push(obj);
      } else {
        groups[bucketIndex(bounds, key)]!.push(obj);
      }
    });
    const out: Array<Record<string, unknown>> = [];
    groups.forEach((docs, i) => {
      if (docs.length > 0) out.push({ ...(evalExpr(docs, outputExpr, options) as Record<string, unknown>), _id: bounds[i] });
    });
    if (outside.length > 0) out.push({ ...(evalExpr(outside, outputExpr, options) as Record<string, unknown>), _id: defaultKey });
    return out;
  };
  let buckets: IterableIterator<Record<string, unknown>> | undefined;
  return Lazy(() => {
    buckets ??= build()[Symbol.iterator]();
    const next = buckets.next();
    return next.done ? { done: true, value: undefined } : { done: false, value: next.value };
  });
}
