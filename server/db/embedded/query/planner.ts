/**
 * Query planning and matching. A filter's *shape* (its top-level keys and which of them are
 * plain equalities) picks the access path — `_id` lookup, secondary index (full key or compound
 * prefix) or collection scan — and that plan is cached per shape. The rest of the filter (the
 * residual, with the equalities the index already answered removed) is compiled once by mingo and
 * cached by its exact content, so a guarded update by `_id` compiles nothing after the first call.
 */
import { ErrorCodes, fail } from '../errors.js';
import type { Collection } from '../storage/collection.js';
import type { FieldSelection } from '../storage/docstore.js';
import type { Index } from '../storage/indexes.js';
import { isPlainObject, keyString, queryView, toQueryValue, transientView, type Doc } from '../values.js';
import { compileQuery, type Matcher } from './mingo.js';

type Plan =
  | { kind: 'scan' }
  | { kind: 'id'; many: boolean }
  | { kind: 'index'; index: string; fields: string[] };

const PLAN_CACHE_MAX = 2000;
const MATCHER_CACHE_MAX = 2000;
const planCache = new Map<string, Plan>();
const matcherCache = new Map<string, Matcher>();

/** Counters for engine-only tests and diagnostics. */
export const plannerStats = { docsExamined: 0, plansBuilt: 0, matchersCompiled: 0, partialReads: 0 };

/** A plain equality value an index can answer (not null, regex, array or operator object). */
function equalityValue(v: unknown): { ok: true; value: unknown } | { ok: false } {
  if (v === undefined || v === null || v instanceof RegExp || Array.isArray(v)) return { ok: false };
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$eq') return equalityValue(v.$eq);
    if (keys.some((k) => k.startsWith('$'))) return { ok: false };
    return { ok: true, value: v };
  }
  const t = (v as { _bsontype?: string })._bsontype;
  if (t === 'BSONRegExp' || t === 'MinKey' || t === 'MaxKey') return { ok: false };
  return { ok: true, value: v };
}

function inValues(v: unknown): unknown[] | undefined {
  if (!isPlainObject(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== '$in' || !Array.isArray(v.$in)) return undefined;
  const out: unknown[] = [];
  for (const el of v.$in) {
    const e = equalityValue(el);
    if (!e.ok) return undefined;
    out.push(e.value);
  }
  return out;
}

function shapeOf(filter: Doc): { shape: string; eq: Set<string>; idIn: boolean } {
  let shape = '';
  const eq = new Set<string>();
  let idIn = false;
  for (const k of Object.keys(filter)) {
    const v = filter[k];
    if (k.startsWith('$')) {
      shape += k + ';';
    } else if (equalityValue(v).ok) {
      eq.add(k);
      shape += k + '=;';
    } else if (k === '_id' && inValues(v)) {
      idIn = true;
      shape += k + ' in;';
    } else {
      shape += k + '?;';
    }
  }
  return { shape, eq, idIn };
}

function choosePlan(coll: Collection, eq: Set<string>, idIn: boolean): Plan {
  plannerStats.plansBuilt++;
  if (eq.has('_id')) return { kind: 'id', many: false };
  if (idIn) return { kind: 'id', many: true };
  let best: { index: Index; n: number } | undefined;
  for (const ix of coll.indexes.values()) {
    // A sparse index leaves out only documents without any of its fields, which no equality with a
    // non-null value (the only kind planned here) matches; a partial index cannot be relied on.
    if (!ix.lookupable || ix.isPartial) continue;
    let n = 0;
    while (n < ix.fields.length && eq.has(ix.fields[n]!)) n++;
    if (n === 0) continue;
    const better =
      !best ||
      n > best.n ||
      (n === best.n && n === ix.fields.length && ix.unique && !(best.index.unique && best.n === best.index.fields.length));
    if (better) best = { index: ix, n };
  }
  if (best) return { kind: 'index', index: best.index.name, fields: best.index.fields.slice(0, best.n) };
  return { kind: 'scan' };
}

function matcherFor(residual: Doc): Matcher | null {
  const keys = Object.keys(residual);
  if (keys.length === 0) return null;
  const cacheKey = keyString(residual);
  let q = matcherCache.get(cacheKey);
  if (!q) {
    try {
      q = compileQuery(toQueryValue(residual));
    } catch (err) {
      throw asQueryError(err);
    }
    plannerStats.matchersCompiled++;
    if (matcherCache.size >= MATCHER_CACHE_MAX) matcherCache.clear();
    matcherCache.set(cacheKey, q);
  }
  return q;
}

function asQueryError(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  const m = /unknown (?:query |top level )?operator:? '?(\$\w+)'?/i.exec(message);
  if (m) return fail(ErrorCodes.BadValue, `unknown operator: ${m[1]}`);
  return fail(ErrorCodes.BadValue, message);
}

/** Compiles (or fetches from cache) a predicate for a filter, for use outside of collections. */
export function compileFilter(filter: Doc): (doc: Doc) => boolean {
  const q = matcherFor(filter);
  return q ? (doc) => q.test(queryView(doc)) : () => true;
}

export interface MatchOptions {
  /** Stop after this many matches (0 or undefined: all). Only valid without a sort. */
  limit?: number;
  /**
   * The top-level fields the caller reads (the filter's included): the documents returned may
   * hold only those, and are for reading only (never for a write).
   */
  fields?: FieldSelection | undefined;
}

function planFor(coll: Collection, f: Doc): Plan {
  const { shape, eq, idIn } = shapeOf(f);
  const planKey = coll.ns + '\u0000' + [...coll.indexes.keys()].join(',') + '\u0000' + shape;
  let plan = planCache.get(planKey);
  if (!plan) {
    plan = choosePlan(coll, eq, idIn);
    if (planCache.size >= PLAN_CACHE_MAX) planCache.clear();
    planCache.set(planKey, plan);
  }
  return plan;
}

/** A mongod-like description of the access path a filter would use (for `explain`). */
export function describePlan(coll: Collection | undefined, filter: Doc | undefined): Doc {
  if (!coll) return { stage: 'EOF' };
  const plan = planFor(coll, filter ?? {});
  switch (plan.kind) {
    case 'id':
      return { stage: 'IDHACK' };
    case 'index': {
      const index = coll.indexes.get(plan.index);
      return { stage: 'FETCH', inputStage: { stage: 'IXSCAN', indexName: plan.index, keyPattern: index?.spec.key ?? {}, isUnique: index?.unique ?? false } };
    }
    default:
      return { stage: 'COLLSCAN', direction: 'forward' };
  }
}

/** Documents of `coll` matching `filter`, in access-path order. */
export function findMatching(coll: Collection | undefined, filter: Doc | undefined, options: MatchOptions = {}): Doc[] {
  if (!coll) return [];
  const f = filter ?? {};
  if (!isPlainObject(f)) fail(ErrorCodes.TypeMismatch, 'filter must be an object');
  const plan = planFor(coll, f);

  let candidates: Iterable<Doc>;
  let residual: Doc = f;
  switch (plan.kind) {
    case 'id': {
      residual = withoutKeys(f, ['_id']);
      if (plan.many) {
        const out: Doc[] = [];
        const seen = new Set<string>();
        for (const v of inValues(f._id) ?? []) {
          const k = keyString(v);
          if (seen.has(k)) continue;
          seen.add(k);
          const doc = coll.getById(v);
          if (doc) out.push(doc);
        }
        candidates = out;
      } else {
        const e = equalityValue(f._id);
        const doc = e.ok ? coll.getById(e.value) : undefined;
        candidates = doc ? [doc] : [];
      }
      break;
    }
    case 'index': {
      const index = coll.indexes.get(plan.index);
      if (!index) {
        candidates = coll.all(options.fields);
        break;
      }
      const keys = plan.fields.map((field) => {
        const e = equalityValue(f[field]);
        return keyString(e.ok ? e.value : undefined);
      });
      // A partial read must hold the fields the index lookup checks.
      const fields = options.fields && plan.fields.every((f) => options.fields!.fields.has(f.split('.')[0]!)) ? options.fields : undefined;
      if (fields) plannerStats.partialReads++;
      candidates = coll.lookup(index, keys, fields);
      residual = withoutKeys(f, plan.fields);
      break;
    }
    default:
      if (options.fields) plannerStats.partialReads++;
      candidates = coll.all(options.fields);
  }

  const matcher = matcherFor(residual);
  const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
  const out: Doc[] = [];
  // A partial read is for this call alone: its query view is not cached.
  const view = options.fields ? transientView : queryView;
  for (const doc of candidates) {
    plannerStats.docsExamined++;
    if (matcher && !matcher.test(view(doc))) continue;
    out.push(doc);
    if (out.length >= limit) break;
  }
  return out;
}

function withoutKeys(f: Doc, keys: string[]): Doc {
  const out: Doc = {};
  for (const k of Object.keys(f)) if (!keys.includes(k)) out[k] = f[k];
  return out;
}
