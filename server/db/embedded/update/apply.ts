/**
 * Applies MongoDB update documents: operator updates ($set, $inc, $push, ... with `$`, `$[]` and
 * `$[id]` positional paths), replacement documents and aggregation-pipeline updates.
 * Returns the new document; the stored document is never touched. Operator updates copy only the
 * objects and arrays on the paths they change (the new version shares every untouched sub-tree
 * with the old one, which is safe because stored documents are never mutated), so a small change
 * to a large document costs in proportion to the change, not to the document.
 */
import { Timestamp } from 'bson';
import { ErrorCodes, fail } from '../errors.js';
import { compileQuery, runPipeline, type Matcher } from '../query/mingo.js';
import { positionalMatchIndex } from '../query/positional.js';
import { getPath } from '../query/paths.js';
import { sortDocs } from '../query/sort.js';
import {
  cloneValue,
  compareValues,
  exactEqual,
  formatValue,
  isPlainObject,
  keyString,
  numKind,
  queryView,
  restoreTypes,
  toQueryValue,
  typeName,
  type Doc,
} from '../values.js';
import { arith, bitwise, zeroLike } from './numeric.js';

export type UpdateSpec =
  | { kind: 'replace'; doc: Doc }
  | { kind: 'ops'; ops: Doc }
  | { kind: 'pipeline'; stages: Doc[] };

const OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$setOnInsert',
  '$push',
  '$addToSet',
  '$pull',
  '$pullAll',
  '$pop',
  '$currentDate',
  '$bit',
]);

const PIPELINE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

export function classifyUpdate(u: unknown): UpdateSpec {
  if (Array.isArray(u)) {
    for (const stage of u) {
      if (!isPlainObject(stage) || Object.keys(stage).length !== 1) fail(ErrorCodes.FailedToParse, 'Each pipeline stage must be an object with a single field');
      const name = Object.keys(stage)[0]!;
      if (!PIPELINE_STAGES.has(name)) {
        fail(ErrorCodes.InvalidOptions, `${name} is not allowed to be used within an update`);
      }
    }
    return { kind: 'pipeline', stages: u as Doc[] };
  }
  if (!isPlainObject(u)) fail(ErrorCodes.FailedToParse, 'Update argument must be either an object or an array');
  const keys = Object.keys(u);
  const dollar = keys.filter((k) => k.startsWith('$'));
  if (dollar.length === 0) return { kind: 'replace', doc: u };
  if (dollar.length !== keys.length) {
    fail(ErrorCodes.DollarPrefixedFieldName, `The dollar ($) prefixed field '${dollar[0]}' in '${dollar[0]}' is not allowed in the context of an update's replacement document.`);
  }
  for (const k of keys) {
    if (!OPERATORS.has(k)) {
      fail(ErrorCodes.FailedToParse, `Unknown modifier: ${k}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!isPlainObject(u[k])) fail(ErrorCodes.FailedToParse, `Modifiers operate on fields but we found type ${typeName(u[k])} instead. For example: {$mod: {<field>: ...}} not {${k}: ${formatValue(u[k])}}`);
  }
  return { kind: 'ops', ops: u };
}

export interface UpdateContext {
  /** The query filter (for the positional `$` operator). */
  filter: Doc;
  arrayFilters?: Doc[] | undefined;
  /** True when building the document inserted by an upsert ($setOnInsert applies). */
  isInsert: boolean;
}

/** Applies an update to a copy of `doc`; returns the new document. */
export function applyUpdate(doc: Doc, spec: UpdateSpec, ctx: UpdateContext): Doc {
  switch (spec.kind) {
    case 'replace':
      return applyReplacement(doc, spec.doc);
    case 'pipeline':
      return applyPipeline(doc, spec.stages);
    case 'ops':
      return applyOperators(doc, spec.ops, ctx);
  }
}

function ensureIdFirst(doc: Doc, id: unknown): Doc {
  if (id === undefined) return doc;
  const out: Doc = { _id: id };
  for (const k of Object.keys(doc)) if (k !== '_id') out[k] = doc[k];
  return out;
}

function checkIdUnchanged(oldId: unknown, newId: unknown): void {
  if (oldId !== undefined && keyString(oldId) !== keyString(newId)) {
    fail(ErrorCodes.ImmutableField, `Performing an update on the path '_id' would modify the immutable field '_id'`);
  }
}

function applyReplacement(doc: Doc, replacement: Doc): Doc {
  validateStoredKeys(replacement);
  if ('_id' in replacement && doc._id !== undefined && keyString(replacement._id) !== keyString(doc._id)) {
    fail(
      ErrorCodes.ImmutableField,
      `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${formatValue(replacement._id)}`,
    );
  }
  return ensureIdFirst(cloneValue(replacement), doc._id ?? replacement._id);
}

function applyPipeline(doc: Doc, stages: Doc[]): Doc {
  const input = cloneValue(queryView(doc));
  const [result] = runPipeline([input], stages);
  if (!result) fail(ErrorCodes.BadValue, 'pipeline update produced no document');
  const out = restoreTypes(doc, result) as Doc;
  if (doc._id !== undefined) {
    if (!('_id' in out)) return ensureIdFirst(out, doc._id);
    checkIdUnchanged(doc._id, out._id);
    out._id = doc._id;
  }
  return ensureIdFirst(out, out._id);
}

/** Rejects `$`-prefixed top-level field names in stored documents. */
export function validateStoredKeys(doc: Doc): void {
  for (const k of Object.keys(doc)) {
    if (k.startsWith('$')) fail(ErrorCodes.DollarPrefixedFieldName, `The dollar ($) prefixed field '${k}' in '${k}' is not valid for storage.`);
  }
}

// ----------------------------------------------------------------------------------------------

interface Target {
  parent: Doc | unknown[];
  key: string | number;
}

class OpRunner {
  readonly doc: Doc;
  private positional = new Map<string, number>();
  private arrayFilterQueries: Map<string, Matcher> | undefined;
  /** The objects and arrays this update made (copies of the original's): the only ones it may mutate. */
  private readonly own = new Set<object>();

  constructor(
    private readonly original: Doc,
    private readonly ctx: UpdateContext,
  ) {
    this.doc = { ...original };
    this.own.add(this.doc);
  }

  /** `child` itself when this update made it, else a shallow copy of it put in its place under `node`. */
  private owned(node: Doc | unknown[], key: string | number, child: Doc | unknown[]): Doc | unknown[] {
    if (this.own.has(child)) return child;
    const copy = Array.isArray(child) ? child.slice() : { ...child };
    this.own.add(copy);
    setAt(node, key, copy);
    return copy;
  }

  private arrayFilter(id: string): Matcher {
    if (!this.arrayFilterQueries) {
      this.arrayFilterQueries = new Map();
      const grouped = new Map<string, Doc>();
      for (const f of this.ctx.arrayFilters ?? []) {
        if (!isPlainObject(f)) fail(ErrorCodes.FailedToParse, 'arrayFilters must contain objects');
        for (const [k, v] of Object.entries(f)) {
          const ident = k.split('.')[0]!;
          const g = grouped.get(ident) ?? {};
          g[k] = v;
          grouped.set(ident, g);
        }
      }
      for (const [ident, q] of grouped) this.arrayFilterQueries.set(ident, compileQuery(toQueryValue(q)));
    }
    const q = this.arrayFilterQueries.get(id);
    if (!q) fail(ErrorCodes.BadValue, `No array filter found for identifier '${id}' in path`);
    return q;
  }

  /** True when array element `el` is selected by the `$[]` / `$[id]` path segment `seg`. */
  private selects(seg: string, el: unknown): boolean {
    const ident = seg.slice(2, -1);
    if (!ident) return true;
    return this.arrayFilter(ident).test({ [ident]: queryView(el) });
  }

  /** The query-matched index for a positional `$` under `arrayPath`, or -1 when there is none. */
  private lookupPositional(arrayPath: string): number {
    let idx = this.positional.get(arrayPath);
    if (idx === undefined) {
      idx = this.ctx.isInsert ? -1 : positionalMatchIndex(this.ctx.filter, this.original, arrayPath);
      this.positional.set(arrayPath, idx);
    }
    return idx;
  }

  private positionalIndex(arrayPath: string): number {
    const idx = this.lookupPositional(arrayPath);
    if (idx < 0) fail(ErrorCodes.BadValue, 'The positional operator did not find the match needed from the query.');
    return idx;
  }

  /**
   * Rejects update paths that mongod merges onto the same array element at apply time: two
   * `$[id]` (or `$[]`) segments under the same array that select the same element merge their
   * sub-updates, which conflict when they touch the same path (code 40, "Update created a conflict
   * at '<path>'"), as does a positional `$` that resolves to an index also named literally.
   * Paths that conflict structurally are rejected earlier by `checkConflicts`.
   */
  checkMergeConflicts(paths: string[][]): void {
    for (let i = 0; i < paths.length; i++) {
      for (let j = i + 1; j < paths.length; j++) {
        const a = paths[i]!;
        const b = paths[j]!;
        if (!a.some(isDollarSegment) && !b.some(isDollarSegment)) continue;
        const at = this.mergeConflict(a, b, this.original, []);
        if (at !== undefined) fail(ErrorCodes.ConflictingUpdateOperators, `Update created a conflict at '${at}'`);
      }
    }
  }

  /** Where merging the sub-updates `a` and `b`, both applied at `node` (concrete path `at`), conflicts. */
  private mergeConflict(a: string[], b: string[], node: unknown, at: string[]): string | undefined {
    let t = 0;
    while (t < a.length && t < b.length && a[t] === b[t]) t++;
    if (t === a.length || t === b.length) return [...at, ...a.slice(0, t)].join('.');
    const sa = a[t]!;
    const sb = b[t]!;
    const fa = isArrayFilterSegment(sa);
    const fb = isArrayFilterSegment(sb);
    // An array node (children `$[id]`) merged with an object node (fields, indexes, `$`).
    if (fa !== fb) return [...at, ...a.slice(0, t)].join('.');
    if (!fa && sa !== '$' && sb !== '$') return undefined; // different fields: disjoint
    const restA = a.slice(t + 1);
    const restB = b.slice(t + 1);
    let found: string | undefined;
    this.forEachAt(node, a, 0, t, at, (arr, path) => {
      if (found !== undefined || !Array.isArray(arr)) return;
      if (fa) {
        for (let idx = 0; idx < arr.length && found === undefined; idx++) {
          if (this.selects(sa, arr[idx]) && this.selects(sb, arr[idx])) {
            found = this.mergeConflict(restA, restB, arr[idx], [...path, String(idx)]);
          }
        }
        return;
      }
      // `$` beside a literal index: mongod merges them when the query matched that index.
      const literal = sa === '$' ? sb : sa;
      const idx = this.lookupPositional(path.join('.'));
      if (idx >= 0 && idx < arr.length && String(idx) === literal) {
        found = this.mergeConflict(restA, restB, arr[idx], [...path, literal]);
      }
    });
    return found;
  }

  /** Calls `visit` with every value (and its concrete path) that `segs[from..to)` reaches from `node`. */
  private forEachAt(node: unknown, segs: string[], from: number, to: number, path: string[], visit: (v: unknown, path: string[]) => void): void {
    if (from === to) {
      visit(node, path);
      return;
    }
    const seg = segs[from]!;
    if (Array.isArray(node)) {
      if (isArrayFilterSegment(seg)) {
        for (let idx = 0; idx < node.length; idx++) {
          if (this.selects(seg, node[idx])) this.forEachAt(node[idx], segs, from + 1, to, [...path, String(idx)], visit);
        }
      } else if (seg === '$') {
        const idx = this.lookupPositional(path.join('.'));
        if (idx >= 0 && idx < node.length) this.forEachAt(node[idx], segs, from + 1, to, [...path, String(idx)], visit);
      } else if (/^\d+$/.test(seg) && Number(seg) < node.length) {
        this.forEachAt(node[Number(seg)], segs, from + 1, to, [...path, seg], visit);
      }
    } else if (isPlainObject(node) && seg in node) {
      this.forEachAt(node[seg], segs, from + 1, to, [...path, seg], visit);
    }
  }

  /** Resolves a (possibly positional) path into concrete parent/key targets. */
  targets(path: string, create: boolean): Target[] {
    const parts = path.split('.');
    if (parts.some((p) => p === '')) fail(ErrorCodes.BadValue, `An empty update path is not valid.`);
    const out: Target[] = [];
    this.walk(this.doc, this.original, parts, 0, create, out);
    return out;
  }

  /**
   * `orig` is the value at the same concrete path in the document before the update (if any):
   * like mongod, array filters select elements by their values before any part of this update
   * is applied, so an earlier operator in the same update cannot change which elements match.
   */
  private walk(node: Doc | unknown[], orig: unknown, parts: string[], i: number, create: boolean, out: Target[]): void {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    if (isArrayFilterSegment(part)) {
      if (!Array.isArray(node)) {
        if (!create) return;
        fail(ErrorCodes.BadValue, `The path '${parts.slice(0, i).join('.')}' must exist in the document in order to apply array updates.`);
      }
      const before = Array.isArray(orig) ? orig : undefined;
      for (let idx = 0; idx < node.length; idx++) {
        if (!this.selects(part, before && idx < before.length ? before[idx] : node[idx])) continue;
        this.step(node, orig, idx, parts, i, last, create, out);
      }
      return;
    }
    if (part === '$') {
      if (!Array.isArray(node)) fail(ErrorCodes.BadValue, 'The positional operator did not find the match needed from the query.');
      const idx = this.positionalIndex(parts.slice(0, i).join('.'));
      this.step(node, orig, idx, parts, i, last, create, out);
      return;
    }
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(part)) {
        if (!create) return;
        fail(ErrorCodes.PathNotViable, `Cannot create field '${part}' in element {${parts[i - 1] ?? ''}: ${formatValue(node)}}`);
      }
      this.step(node, orig, Number(part), parts, i, last, create, out);
      return;
    }
    this.step(node, orig, part, parts, i, last, create, out);
  }

  private step(
    node: Doc | unknown[],
    orig: unknown,
    key: string | number,
    parts: string[],
    i: number,
    last: boolean,
    create: boolean,
    out: Target[],
  ): void {
    if (last) {
      out.push({ parent: node, key });
      return;
    }
    let child = (node as Record<string | number, unknown>)[key];
    if (child === undefined) {
      if (!create) return;
      const created: Doc = {};
      this.own.add(created);
      setAt(node, key, created);
      child = created;
    } else if (child === null || typeof child !== 'object' || (!Array.isArray(child) && !isPlainObject(child))) {
      if (!create) return;
      fail(ErrorCodes.PathNotViable, `Cannot create field '${parts[i + 1]}' in element {${String(key)}: ${formatValue(child)}}`);
    } else {
      // `node` is this update's own copy (the root is); copy the child before going below it.
      child = this.owned(node, key, child as Doc | unknown[]);
    }
    const origChild = orig !== null && typeof orig === 'object' ? (orig as Record<string | number, unknown>)[key] : undefined;
    this.walk(child as Doc | unknown[], origChild, parts, i + 1, create, out);
  }
}

function isArrayFilterSegment(seg: string): boolean {
  return seg.startsWith('$[') && seg.endsWith(']');
}

function isDollarSegment(seg: string): boolean {
  return seg === '$' || isArrayFilterSegment(seg);
}

function getAt(t: Target): unknown {
  return (t.parent as Record<string | number, unknown>)[t.key];
}

function setAt(parent: Doc | unknown[], key: string | number, value: unknown): void {
  if (Array.isArray(parent)) {
    const idx = Number(key);
    while (parent.length < idx) parent.push(null);
    parent[idx] = value;
  } else {
    parent[key as string] = value;
  }
}

function unsetAt(t: Target): boolean {
  if (Array.isArray(t.parent)) {
    const idx = Number(t.key);
    if (idx >= t.parent.length) return false;
    t.parent[idx] = null;
    return true;
  }
  if (!(t.key in t.parent)) return false;
  delete (t.parent as Doc)[t.key as string];
  return true;
}

interface PathNode {
  kind: 'leaf' | 'object' | 'array';
  children: Map<string, PathNode>;
}

/**
 * Builds mongod's update tree from the update paths (in order) and rejects paths that collide in
 * it (code 40): the same path twice, a path and one of its prefixes, or a field used both as an
 * array of `$[id]` elements and as an object (named fields, indexes or `$`). Distinct `$[id]`
 * identifiers under one array are separate branches here; whether they select the same element
 * is checked against the document by `OpRunner.checkMergeConflicts`. Returns the split paths.
 */
function checkConflicts(ops: Doc): string[][] {
  const paths: string[] = [];
  for (const [op, args] of Object.entries(ops)) {
    for (const [path, arg] of Object.entries(args as Doc)) {
      paths.push(path);
      if (op === '$rename') {
        if (typeof arg !== 'string') fail(ErrorCodes.BadValue, `The 'to' field for $rename must be a string: ${path}: ${formatValue(arg)}`);
        paths.push(arg);
      }
    }
  }
  const root: PathNode = { kind: 'object', children: new Map() };
  const split: string[][] = [];
  for (const path of paths) {
    const parts = path.split('.');
    split.push(parts);
    let cur = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const kind = isArrayFilterSegment(parts[i + 1]!) ? 'array' : 'object';
      let child = cur.children.get(parts[i]!);
      if (!child) {
        child = { kind, children: new Map() };
        cur.children.set(parts[i]!, child);
      } else if (child.kind !== kind) {
        fail(ErrorCodes.ConflictingUpdateOperators, `Updating the path '${path}' would create a conflict at '${parts.slice(0, i + 1).join('.')}'`);
      }
      cur = child;
    }
    const leaf = parts[parts.length - 1]!;
    if (cur.children.has(leaf)) fail(ErrorCodes.ConflictingUpdateOperators, `Updating the path '${path}' would create a conflict at '${path}'`);
    cur.children.set(leaf, { kind: 'leaf', children: new Map() });
  }
  return split;
}

function requireArray(v: unknown, path: string, doc: Doc): unknown[] {
  if (!Array.isArray(v)) {
    fail(ErrorCodes.BadValue, `The field '${path}' must be an array but is of type ${typeName(v)} in document {_id: ${formatValue(doc._id)}}`);
  }
  return v;
}

function matchesPullCondition(cond: unknown): (el: unknown) => boolean {
  if (isPlainObject(cond)) {
    const keys = Object.keys(cond);
    const allOps = keys.length > 0 && keys.every((k) => k.startsWith('$'));
    if (allOps && !keys.some((k) => k === '$and' || k === '$or' || k === '$nor' || k === '$expr')) {
      const q = compileQuery(toQueryValue({ v: cond }));
      return (el) => q.test({ v: queryView(el) });
    }
    const q = compileQuery(toQueryValue(cond));
    return (el) => isPlainObject(el) && q.test(queryView(el));
  }
  return (el) => compareValues(el, cond) === 0 && keyString(el) === keyString(cond);
}

function applyOperators(original: Doc, ops: Doc, ctx: UpdateContext): Doc {
  const paths = checkConflicts(ops);
  const run = new OpRunner(original, ctx);
  run.checkMergeConflicts(paths);
  const doc = run.doc;
  for (const [op, args] of Object.entries(ops)) {
    // On an update of an existing document $setOnInsert does nothing at all: not even its _id
    // (which may differ from the matched document's) is looked at.
    if (op === '$setOnInsert' && !ctx.isInsert) continue;
    for (const [path, arg] of Object.entries(args as Doc)) {
      if (path === '_id' || path.startsWith('_id.')) {
        if (op === '$set' || op === '$setOnInsert') {
          if (!ctx.isInsert && keyString(getPath(original, path)) !== keyString(arg)) {
            fail(ErrorCodes.ImmutableField, `Performing an update on the path '_id' would modify the immutable field '_id'`);
          }
          if (!ctx.isInsert) continue;
        } else if (!ctx.isInsert) {
          fail(ErrorCodes.ImmutableField, `Performing an update on the path '_id' would modify the immutable field '_id'`);
        }
      }
      switch (op) {
        case '$setOnInsert':
        case '$set':
          for (const t of run.targets(path, true)) {
            if (!exactEqual(getAt(t), arg)) setAt(t.parent, t.key, cloneValue(arg));
          }
          break;
        case '$unset':
          for (const t of run.targets(path, false)) unsetAt(t);
          break;
        case '$inc':
        case '$mul': {
          if (!numKind(arg)) {
            fail(ErrorCodes.TypeMismatch, `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${formatValue(arg)}}`);
          }
          for (const t of run.targets(path, true)) {
            const cur = getAt(t);
            if (cur === undefined) {
              setAt(t.parent, t.key, op === '$inc' ? arg : zeroLike(arg));
            } else if (!numKind(cur)) {
              fail(
                ErrorCodes.TypeMismatch,
                `Cannot apply ${op} to a value of non-numeric type. {_id: ${formatValue(doc._id)}} has the field '${String(t.key)}' of non-numeric type ${typeName(cur)}`,
              );
            } else {
              setAt(t.parent, t.key, arith(op === '$inc' ? 'add' : 'mul', cur, arg));
            }
          }
          break;
        }
        case '$min':
        case '$max':
          for (const t of run.targets(path, true)) {
            const cur = getAt(t);
            const c = cur === undefined ? 0 : compareValues(arg, cur);
            if (cur === undefined || (op === '$min' ? c < 0 : c > 0)) setAt(t.parent, t.key, cloneValue(arg));
          }
          break;
        case '$currentDate': {
          const wantTs = isPlainObject(arg) && arg.$type === 'timestamp';
          const value = wantTs ? new Timestamp({ t: Math.floor(Date.now() / 1000), i: 1 }) : new Date();
          for (const t of run.targets(path, true)) setAt(t.parent, t.key, value);
          break;
        }
        case '$rename': {
          const to = arg as string;
          if (path.includes('$') || to.includes('$')) fail(ErrorCodes.BadValue, '$rename does not support positional paths');
          const from = run.targets(path, false);
          const t = from[0];
          if (!t || Array.isArray(t.parent)) break;
          const value = getAt(t);
          if (value === undefined) break;
          unsetAt(t);
          for (const dest of run.targets(to, true)) {
            if (Array.isArray(dest.parent)) fail(ErrorCodes.BadValue, `The destination field for $rename may not be dynamic: ${to}`);
            setAt(dest.parent, dest.key, value);
          }
          break;
        }
        case '$push':
        case '$addToSet': {
          const each = isPlainObject(arg) && '$each' in arg;
          const values = each ? (arg.$each as unknown[]) : [arg];
          if (each && !Array.isArray(arg.$each)) fail(ErrorCodes.BadValue, `The argument to $each in ${op} must be an array but it was of type: ${typeName(arg.$each)}`);
          for (const t of run.targets(path, true)) {
            const cur = getAt(t);
            const arr = cur === undefined ? [] : requireArray(cur, path, doc).slice();
            if (op === '$addToSet') {
              for (const v of values) {
                if (!arr.some((el) => keyString(el) === keyString(v))) arr.push(cloneValue(v));
              }
            } else {
              const mods = each ? (arg as Doc) : {};
              const items = values.map(cloneValue);
              if (mods.$position !== undefined) {
                let pos = Number(mods.$position);
                if (pos < 0) pos = Math.max(0, arr.length + pos);
                arr.splice(Math.min(pos, arr.length), 0, ...items);
              } else {
                arr.push(...items);
              }
              let result = arr;
              if (mods.$sort !== undefined) {
                if (isPlainObject(mods.$sort)) {
                  result = sortDocs(result as Doc[], mods.$sort);
                } else {
                  const dir = Number(mods.$sort);
                  result = [...result].sort((a, b) => compareValues(a, b) * dir);
                }
              }
              if (mods.$slice !== undefined) {
                const n = Number(mods.$slice);
                result = n >= 0 ? result.slice(0, n) : result.slice(Math.max(0, result.length + n));
              }
              setAt(t.parent, t.key, result);
              continue;
            }
            setAt(t.parent, t.key, arr);
          }
          break;
        }
        case '$pop':
          for (const t of run.targets(path, false)) {
            const cur = getAt(t);
            if (cur === undefined) continue;
            const arr = requireArray(cur, path, doc);
            if (arr.length === 0) continue;
            setAt(t.parent, t.key, Number(arg) === -1 ? arr.slice(1) : arr.slice(0, -1));
          }
          break;
        case '$pull':
        case '$pullAll': {
          let test: (el: unknown) => boolean;
          if (op === '$pullAll') {
            if (!Array.isArray(arg)) fail(ErrorCodes.BadValue, `$pullAll requires an array argument but was given a ${typeName(arg)}`);
            const keys = new Set(arg.map((v) => keyString(v)));
            test = (el) => keys.has(keyString(el));
          } else {
            test = matchesPullCondition(arg);
          }
          for (const t of run.targets(path, false)) {
            const cur = getAt(t);
            if (cur === undefined) continue;
            const arr = requireArray(cur, path, doc);
            const kept = arr.filter((el) => !test(el));
            if (kept.length !== arr.length) setAt(t.parent, t.key, kept);
          }
          break;
        }
        case '$bit': {
          if (!isPlainObject(arg)) fail(ErrorCodes.BadValue, '$bit requires an object argument');
          for (const t of run.targets(path, true)) {
            let cur: unknown = getAt(t) ?? 0;
            for (const [bop, operand] of Object.entries(arg)) {
              if (bop !== 'and' && bop !== 'or' && bop !== 'xor') fail(ErrorCodes.BadValue, `The $bit modifier only supports 'and', 'or', and 'xor', not '${bop}'`);
              cur = bitwise(bop, cur, operand);
            }
            setAt(t.parent, t.key, cur);
          }
          break;
        }
      }
    }
  }
  checkIdUnchanged(original._id, doc._id);
  return ctx.isInsert ? ensureIdFirst(doc, doc._id) : doc;
}
