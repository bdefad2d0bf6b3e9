/**
 * A lean replacement for `new mingo.Query(...)`: compiles a filter into a predicate with mingo's
 * own query operators, but without mingo's per-query deep copy of the filter and the eager
 * `JSON.stringify` in its assertion message (together ~60% of a query's compile time). The
 * logical operators and $elemMatch are re-registered to compile their sub-filters the same way.
 */
import { isArray, isOperator, normalize, resolve } from 'mingo/util';
import type { Options, QueryOperator } from 'mingo/types';
import { isPlainObject, type Doc } from '../values.js';
import { fastCondition } from './fast-paths.js';

export type Predicate = (obj: unknown) => boolean;

const TOP_LEVEL = new Set(['$and', '$or', '$nor', '$expr', '$jsonSchema']);

interface OperatorLookup {
  getOperator(type: string, name: string): ((...args: unknown[]) => Predicate) | null;
}

function operator(options: Options, name: string): (selector: string, value: unknown, options: Options) => Predicate {
  const fn = (options.context as unknown as OperatorLookup).getOperator('query', name);
  if (!fn) throw new Error(`unknown query operator ${name}`);
  return fn as (selector: string, value: unknown, options: Options) => Predicate;
}

function all(preds: Predicate[]): Predicate {
  if (preds.length === 0) return () => true;
  if (preds.length === 1) return preds[0]!;
  return (obj) => {
    for (const p of preds) if (!p(obj)) return false;
    return true;
  };
}

export function compileCondition(condition: unknown, options: Options): Predicate {
  if (!isPlainObject(condition)) throw new Error('query criteria must be an object');
  const preds: Predicate[] = [];
  for (const field of Object.keys(condition)) {
    const expr = condition[field];
    if (field === '$where') throw new Error("$where operator requires 'scriptEnabled' option to be true.");
    if (TOP_LEVEL.has(field)) {
      preds.push(operator(options, field)(field, expr, options));
    } else {
      if (isOperator(field)) throw new Error(`unknown top level operator: ${field}`);
      const normalized = normalize(expr) as Doc;
      for (const op of Object.keys(normalized)) {
        const slow = operator(options, op)(field, normalized[op], options);
        preds.push(fastCondition(field, op, normalized[op], slow) ?? slow);
      }
    }
  }
  return all(preds);
}

function compileList(name: string, rhs: unknown, options: Options): Predicate[] {
  if (!isArray(rhs)) throw new Error(`Invalid expression. ${name} expects value to be an Array`);
  return (rhs as unknown[]).map((c) => compileCondition(c, options));
}

const $and = (_: string, rhs: unknown, options: Options): Predicate => all(compileList('$and', rhs, options));

const $or = (_: string, rhs: unknown, options: Options): Predicate => {
  const preds = compileList('$or', rhs, options);
  return (obj) => {
    for (const p of preds) if (p(obj)) return true;
    return false;
  };
};

const $nor = (_: string, rhs: unknown, options: Options): Predicate => {
  const any = $or('$or', rhs, options);
  return (obj) => !any(obj);
};

const $not = (selector: string, rhs: unknown, options: Options): Predicate => {
  const q = compileCondition({ [selector]: normalize(rhs) }, options);
  return (obj) => !q(obj);
};

const $elemMatch = (selector: string, criteria: unknown, options: Options): Predicate => {
  if (!isPlainObject(criteria)) throw new Error('$elemMatch needs an Object');
  const keys = Object.keys(criteria);
  let pred: Predicate;
  if (keys.length === 0) {
    pred = (v) => isPlainObject(v);
  } else if (keys.every((k) => isOperator(k) && k !== '$and' && k !== '$or' && k !== '$nor')) {
    const q = compileCondition({ field: criteria }, options);
    pred = (v) => q({ field: v });
  } else {
    pred = compileCondition(criteria, options);
  }
  const opts = { unwrapArray: true };
  return (obj) => {
    const lhs = resolve(obj as Doc, selector, opts);
    if (isArray(lhs)) for (const v of lhs as unknown[]) if (pred(v)) return true;
    return false;
  };
};

/** Query operators that replace mingo's versions of the same name. */
export const leanLogicalOperators = { $and, $or, $nor, $not, $elemMatch } as unknown as Record<string, QueryOperator>;
