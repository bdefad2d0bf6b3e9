/**
 * Applies MongoDB update documents: operator updates ($set, $inc, $push, ... with `$`, `$[]` and
 * `$[id]` positional paths), replacement documents and aggregation-pipeline updates.
 * Works on a deep copy and returns the new document; the stored document is never touched.
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

  constructor(
    private readonly original: Doc,
    private readonly ctx: UpdateContext,
  ) {
    this.doc = cloneValue(original);
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

  private positionalIndex(arrayPath: string): number {
    let idx = this.positional.get(arrayPath);
    if (idx === undefined) {
      idx = this.ctx.isInsert ? -1 : positionalMatchIndex(this.ctx.filter, this.original, arrayPath);
      this.positional.set(arrayPath, idx);
    }
    if (idx < 0) fail(ErrorCodes.BadValue, 'The positional operator did not find the match needed from the query.');
    return idx;
  }

  /** Resolves a (possibly positional) path into concrete parent/key targets. */
  targets(path: string, create: boolean): Target[] {
    const parts = path.split('.');
    if (parts.some((p) => p === '')) fail(ErrorCodes.BadValue, `An empty update path is not valid.`);
    const out: Target[] = [];
    this.walk(this.doc, parts, 0, create, out);
    return out;
  }

  private walk(node: Doc | unknown[], parts: string[], i: number, create: boolean, out: Target[]): void {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    if (part === '$[]' || (part.startsWith('$[') && part.endsWith(']'))) {
      if (!Array.isArray(node)) {
        if (!create) return;
        fail(ErrorCodes.BadValue, `The path '${parts.slice(0, i).join('.')}' must exist in the document in order to apply array updates.`);
      }
      const ident = part.slice(2, -1);
      const q = ident ? this.arrayFilter(ident) : undefined;
      for (let idx = 0; idx < node.length; idx++) {
        if (q && !q.test({ [ident]: queryView(node[idx]) })) continue;
        this.step(node, idx, parts, i, last, create, out);
      }
      return;
    }
    if (part === '$') {
      if (!Array.isArray(node)) fail(ErrorCodes.BadValue, 'The positional operator did not find the match needed from the query.');
      const idx = this.positionalIndex(parts.slice(0, i).join('.'));
      this.step(node, idx, parts, i, last, create, out);
      return;
    }
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(part)) {
        if (!create) return;
        fail(ErrorCodes.PathNotViable, `Cannot create field '${part}' in element {${parts[i - 1] ?? ''}: ${formatValue(node)}}`);
      }
      this.step(node, Number(part), parts, i, last, create, out);
      return;
    }
    this.step(node, part, parts, i, last, create, out);
  }

  private step(node: Doc | unknown[], key: string | number, parts: string[], i: number, last: boolean, create: boolean, out: Target[]): void {
    if (last) {
      out.push({ parent: node, key });
      return;
    }
    let child = (node as Record<string | number, unknown>)[key];
    if (child === undefined) {
      if (!create) return;
      child = {};
      setAt(node, key, child);
    } else if (child === null || typeof child !== 'object' || (!Array.isArray(child) && !isPlainObject(child))) {
      if (!create) return;
      fail(ErrorCodes.PathNotViable, `Cannot create field '${parts[i + 1]}' in element {${String(key)}: ${formatValue(child)}}`);
    }
    this.walk(child as Doc | unknown[], parts, i + 1, create, out);
  }
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

function checkConflicts(ops: Doc): void {
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
  const norm = paths.map((p) => p.split('.').map((s) => (s.startsWith('$') ? '$' : s)).join('.'));
  const sorted = [...norm].sort();
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (a === b || b.startsWith(a + '.')) {
      fail(ErrorCodes.ConflictingUpdateOperators, `Updating the path '${b}' would create a conflict at '${a}'`);
    }
  }
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
  checkConflicts(ops);
  const run = new OpRunner(original, ctx);
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
