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
import { UNORDERED, valueKey, type Index, type OrderKind } from '../storage/indexes.js';
import { isPlainObject, keyString, queryView, toQueryValue, viewOf, type Doc } from '../values.js';
import { compileQuery, type Matcher } from './mingo.js';
import { parseSort } from './sort.js';

type Plan =
  | { kind: 'scan' }
  | { kind: 'id'; many: boolean }
  /** `inField`: the last field of the prefix is an `$in` of equality values (one key per value). */
  | { kind: 'index'; index: string; fields: string[]; inField: boolean };

const PLAN_CACHE_MAX = 2000;
const MATCHER_CACHE_MAX = 2000;
const planCache = new Map<string, Plan>();
const matcherCache = new Map<string, Matcher>();

/** Counters for engine-only tests and diagnostics. */
export const plannerStats = { docsExamined: 0, plansBuilt: 0, matchersCompiled: 0, orderedReads: 0, partialReads: 0 };

/** Whether ranges after an index's equality prefix are read in key order (tests turn it off to compare the answers). */
export const orderedRanges = { enabled: true };

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

function shapeOf(filter: Doc): { shape: string; eq: Set<string>; ins: Set<string>; idIn: boolean } {
  let shape = '';
  const eq = new Set<string>();
  const ins = new Set<string>();
  let idIn = false;
  for (const k of Object.keys(filter)) {
    const v = filter[k];
    if (k.startsWith('$')) {
      shape += k + ';';
    } else if (equalityValue(v).ok) {
      eq.add(k);
      shape += k + '=;';
    } else if (inValues(v)) {
      if (k === '_id') idIn = true;
      else ins.add(k);
      shape += k + ' in;';
    } else {
      shape += k + '?;';
    }
  }
  return { shape, eq, ins, idIn };
}

function choosePlan(coll: Collection, eq: Set<string>, ins: Set<string>, idIn: boolean): Plan {
  plannerStats.plansBuilt++;
  if (eq.has('_id')) return { kind: 'id', many: false };
  if (idIn) return { kind: 'id', many: true };
  let best: { index: Index; n: number; inField: boolean } | undefined;
  for (const ix of coll.indexes.values()) {
    // A sparse index leaves out only documents without any of its fields, which no equality with a
    // non-null value (the only kind planned here) matches; a partial index cannot be relied on.
    if (!ix.lookupable || ix.isPartial) continue;
    let n = 0;
    while (n < ix.fields.length && eq.has(ix.fields[n]!)) n++;
    // An `$in` may follow the equalities (several keys); a plan of equalities only wins a tie.
    const inField = n < ix.fields.length && ins.has(ix.fields[n]!);
    if (inField) n++;
    if (n === 0) continue;
    const better =
      !best ||
      n > best.n ||
      (n === best.n && best.inField && !inField) ||
      (n === best.n && inField === best.inField && n === ix.fields.length && ix.unique && !(best.index.unique && best.n === best.index.fields.length));
    if (better) best = { index: ix, n, inField };
  }
  if (best) return { kind: 'index', index: best.index.name, fields: best.index.fields.slice(0, best.n), inField: best.inField };
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
   * The caller sorts the matches by `sort` and keeps only the first `count` (> 0): matches that
   * cannot be among them may be left out (the others still come in access-path order).
   */
  sorted?: { sort: unknown; count: number };
  /**
   * The top-level fields the caller reads (the filter's included): the documents returned may
   * hold only those, and are for reading only (never for a write).
   */
  fields?: FieldSelection | undefined;
}

function planFor(coll: Collection, f: Doc): Plan {
  const { shape, eq, ins, idIn } = shapeOf(f);
  const planKey = coll.ns + '\u0000' + [...coll.indexes.keys()].join(',') + '\u0000' + shape;
  let plan = planCache.get(planKey);
  if (!plan) {
    plan = choosePlan(coll, eq, ins, idIn);
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
      const keyLists = prefixKeys(f, plan);
      // A partial read must hold the fields the index lookup checks.
      const fields = options.fields && plan.fields.every((pf) => options.fields!.fields.has(pf.split('.')[0]!)) ? options.fields : undefined;
      if (fields) plannerStats.partialReads++;
      residual = withoutKeys(f, plan.fields);
      const ordered = orderedRanges.enabled ? readOrdered(coll, index, plan.fields.length, keyLists, f, matcherFor(residual), options, fields) : undefined;
      if (ordered) return ordered;
      if (keyLists.length === 1) {
        candidates = coll.lookup(index, keyLists[0]!, fields);
      } else {
        const slots = index.candidateSlots(keyLists);
        const read = coll.indexReader(slots.length, fields);
        candidates = (function* () {
          for (const slot of slots) {
            const doc = read(slot);
            if (index.holdsAny(doc, keyLists)) yield doc;
          }
        })();
      }
      break;
    }
    default: {
      // No equality prefix: a range of dates on an index's first field reads its root group.
      if (options.fields) plannerStats.partialReads++;
      const matcher = matcherFor(f);
      for (const index of coll.indexes.values()) {
        if (!orderedRanges.enabled || !index.lookupable || index.isPartial || !(index.fields[0]! in f)) continue;
        const ordered = readOrdered(coll, index, 0, [[]], f, matcher, options, options.fields);
        if (ordered) return ordered;
      }
      candidates = coll.all(options.fields);
    }
  }

  const matcher = matcherFor(residual);
  const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
  const out: Doc[] = [];
  const view = viewOf(options.fields !== undefined);
  for (const doc of candidates) {
    plannerStats.docsExamined++;
    if (matcher && !matcher.test(view(doc))) continue;
    out.push(doc);
    if (out.length >= limit) break;
  }
  return out;
}

/** The key strings of the prefix of an index plan: one list, or one per value of its `$in`. */
function prefixKeys(f: Doc, plan: Extract<Plan, { kind: 'index' }>): string[][] {
  const eqFields = plan.inField ? plan.fields.slice(0, -1) : plan.fields;
  const base = eqFields.map((field) => {
    const e = equalityValue(f[field]);
    return keyString(e.ok ? e.value : undefined);
  });
  if (!plan.inField) return [base];
  const values = new Set<string>();
  for (const v of inValues(f[plan.fields[plan.fields.length - 1]!]) ?? []) values.add(keyString(v));
  return [...values].map((k) => [...base, k]);
}

interface KeyRange {
  kind: typeof UNORDERED | OrderKind;
  lo: number;
  loIncl: boolean;
  hi: number;
  hiIncl: boolean;
}

const RANGE_BOUNDS = new Set(['$gt', '$gte', '$lt', '$lte', '$eq']);

/**
 * The bounds a top-level condition puts on a field, as keys of one kind (dates or numbers, which
 * no other kind of value meets: a date range matches only dates): an unbounded range of any kind
 * when there is no condition; undefined when the condition cannot be read so (bounds of another
 * type or of both kinds, a value that is not an operator object). Other operators of the
 * condition are left to the matcher: they only narrow the matches.
 */
function rangeOf(cond: unknown): KeyRange | undefined {
  const r: KeyRange = { kind: UNORDERED, lo: -Infinity, loIncl: true, hi: Infinity, hiIncl: true };
  if (cond === undefined) return r;
  if (!isPlainObject(cond)) return undefined;
  for (const op of Object.keys(cond)) {
    if (!op.startsWith('$')) return undefined;
    if (!RANGE_BOUNDS.has(op)) continue;
    const b = valueKey(cond[op]);
    if (b.kind === UNORDERED || (r.kind !== UNORDERED && b.kind !== r.kind)) return undefined;
    r.kind = b.kind;
    if (op === '$gt' || op === '$gte' || op === '$eq') {
      const incl = op !== '$gt';
      if (b.key > r.lo || (b.key === r.lo && !incl)) {
        r.lo = b.key;
        r.loIncl = incl;
      }
    }
    if (op === '$lt' || op === '$lte' || op === '$eq') {
      const incl = op !== '$lt';
      if (b.key < r.hi || (b.key === r.hi && !incl)) {
        r.hi = b.key;
        r.hiIncl = incl;
      }
    }
  }
  return r;
}

/**
 * The matches of an index plan read in the order of the field after its prefix, when the filter
 * bounds that field or the caller's sort starts with it, and the prefix's documents are ordered by
 * it (`Index.orderedRange`): only the slots inside the range are decoded, and with a sort and a
 * count, reading stops once that many matches are collected and the next key is past the last
 * one's (its ties are all collected). The matches come in slot order, as the prefix's lookup would
 * give them. Undefined: not applicable (the caller reads the whole prefix).
 */
function readOrdered(coll: Collection, index: Index, prefix: number, keyLists: string[][], f: Doc, matcher: Matcher | null, options: MatchOptions, fields: FieldSelection | undefined): Doc[] | undefined {
  const field = index.fields[prefix];
  if (field === undefined) return undefined;
  const range = rangeOf(f[field]);
  if (!range) return undefined;
  const first = options.sorted ? parseSort(options.sorted.sort)[0] : undefined;
  const dir = first?.path === field ? first.dir : 0;
  if (range.kind === UNORDERED && dir === 0) return undefined;
  let kind = range.kind;
  const runs: Array<{ slots: Int32Array; keys: Float64Array }> = [];
  let total = 0;
  for (const keys of keyLists) {
    const run = index.orderedRange(keys, kind, range.lo, range.loIncl, range.hi, range.hiIncl);
    if (!run) return undefined;
    if (run.kind !== UNORDERED) kind = run.kind;
    if (run.slots.length === 0) continue;
    runs.push(run);
    total += run.slots.length;
  }
  plannerStats.orderedReads++;
  const read = coll.indexReader(total, fields);
  const view = viewOf(fields !== undefined);
  const test = (doc: Doc): boolean => index.holdsAny(doc, keyLists) && (!matcher || matcher.test(view(doc)));
  const seen = runs.length > 1 ? new Set<number>() : undefined;

  if (dir !== 0 && options.sorted) {
    const need = options.sorted.count;
    const pos = runs.map((r) => (dir === 1 ? 0 : r.slots.length - 1));
    const picked: Array<{ slot: number; doc: Doc }> = [];
    let lastKey = NaN;
    for (;;) {
      // The run whose next key comes first in the sort's direction.
      let best = -1;
      for (let r = 0; r < runs.length; r++) {
        const p = pos[r]!;
        if (p < 0 || p >= runs[r]!.slots.length) continue;
        if (best < 0 || (runs[r]!.keys[p]! - runs[best]!.keys[pos[best]!]!) * dir < 0) best = r;
      }
      if (best < 0) break;
      const run = runs[best]!;
      const p = pos[best]!;
      pos[best] = p + dir;
      const key = run.keys[p]!;
      if (picked.length >= need && key !== lastKey) break;
      const slot = run.slots[p]!;
      if (seen) {
        if (seen.has(slot)) continue;
        seen.add(slot);
      }
      const doc = read(slot);
      plannerStats.docsExamined++;
      if (!test(doc)) continue;
      picked.push({ slot, doc });
      lastKey = key;
    }
    return picked.sort((a, b) => a.slot - b.slot).map((p) => p.doc);
  }

  let slots: Int32Array;
  if (runs.length === 1) {
    slots = runs[0]!.slots.slice().sort();
  } else {
    slots = new Int32Array(total);
    let o = 0;
    for (const r of runs) {
      slots.set(r.slots, o);
      o += r.slots.length;
    }
    slots.sort();
  }
  const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
  const out: Doc[] = [];
  for (let i = 0; i < slots.length && out.length < limit; i++) {
    const slot = slots[i]!;
    if (i > 0 && slots[i - 1] === slot) continue;
    const doc = read(slot);
    plannerStats.docsExamined++;
    if (test(doc)) out.push(doc);
  }
  return out;
}

function withoutKeys(f: Doc, keys: string[]): Doc {
  const out: Doc = {};
  for (const k of Object.keys(f)) if (!keys.includes(k)) out[k] = f[k];
  return out;
}
