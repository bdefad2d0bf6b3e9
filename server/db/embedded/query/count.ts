/**
 * `$count` as MongoDB answers it: a stage over no documents outputs no document (mingo 7's output
 * `{<field>: 0}`). Validation as mingo's.
 */
import { Lazy, type Iterator } from 'mingo/lazy';
import type { Options } from 'mingo/types';
import { assert } from 'mingo/util';

export function $count(coll: Iterator, expr: unknown, _options: Options): Iterator {
  assert(typeof expr === 'string' && expr.trim().length > 0 && !expr.includes('.') && expr[0] !== '$', '$count expression must evaluate to valid field name');
  const field = expr as string;
  let done = false;
  return Lazy(() => {
    if (done) return { done: true };
    done = true;
    const n = coll.size();
    return n > 0 ? { value: { [field]: n }, done: false } : { done: true };
  });
}
