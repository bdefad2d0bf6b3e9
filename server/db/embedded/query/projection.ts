/**
 * Find projections. Plain inclusion/exclusion (the overwhelmingly common case) is done here and
 * keeps every BSON type intact; anything with operators or expressions goes through mingo.
 */
import { fail, ErrorCodes } from '../errors.js';
import { cloneValue, isPlainObject, queryView, restoreTypes, type Doc } from '../values.js';
import { runPipeline } from './mingo.js';
import { positionalMatchIndex } from './positional.js';

type Tree = Map<string, Tree | true>;

export interface CompiledProjection {
  apply(doc: Doc, filter: Doc): Doc;
}

/** The projection that returns documents as stored (no projection asked). */
export const IDENTITY: CompiledProjection = { apply: (doc) => doc };
const cache = new Map<string, CompiledProjection>();

export function compileProjection(spec: unknown): CompiledProjection {
  if (spec === undefined || spec === null) return IDENTITY;
  if (!isPlainObject(spec)) fail(ErrorCodes.BadValue, 'projection must be an object');
  const keys = Object.keys(spec);
  if (keys.length === 0) return IDENTITY;
  const cacheKey = JSON.stringify(spec);
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const compiled = build(spec);
  if (cache.size > 500) cache.clear();
  cache.set(cacheKey, compiled);
  return compiled;
}

function isFlag(v: unknown): v is number | boolean {
  return typeof v === 'number' || typeof v === 'boolean' || (isPlainObject(v) === false && typeof v === 'object' && v !== null && '_bsontype' in v && ((v as { _bsontype: string })._bsontype === 'Long' || (v as { _bsontype: string })._bsontype === 'Double'));
}

function truthy(v: number | boolean | object): boolean {
  if (typeof v === 'object') return Number(String(v)) !== 0;
  return Boolean(v);
}

function build(spec: Doc): CompiledProjection {
  let include: boolean | undefined;
  let idFlag: boolean | undefined;
  let positional: string | undefined;
  const paths: string[] = [];
  for (const [path, value] of Object.entries(spec)) {
    if (!isFlag(value)) return viaMingo(spec);
    const on = truthy(value);
    if (path === '_id') {
      idFlag = on;
      continue;
    }
    let p = path;
    if (p.endsWith('.$')) {
      if (!on) fail(ErrorCodes.BadValue, 'positional projection cannot be used with exclusion');
      p = p.slice(0, -2);
      positional = p;
    }
    if (include === undefined) include = on;
    else if (include !== on) {
      fail(
        31254,
        `Cannot do ${include ? 'exclusion' : 'inclusion'} on field ${path} in ${include ? 'inclusion' : 'exclusion'} projection`,
      );
    }
    paths.push(p);
  }
  if (include === undefined) include = idFlag === true;
  const tree = buildTree(paths);
  const keepId = idFlag ?? true;
  if (include) {
    return {
      apply(doc, filter) {
        const out: Doc = {};
        if (keepId && '_id' in doc) out._id = doc._id;
        const projected = includeTree(doc, tree);
        for (const k of Object.keys(projected)) if (k !== '_id') out[k] = projected[k];
        if (positional) applyPositional(out, doc, filter, positional);
        return out;
      },
    };
  }
  return {
    apply(doc) {
      const out = excludeTree(doc, tree) as Doc;
      if (!keepId) delete out._id;
      return out;
    },
  };
}

function buildTree(paths: string[]): Tree {
  const root: Tree = new Map();
  for (const path of paths) {
    const parts = path.split('.');
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1) {
        node.set(part, true);
      } else {
        const existing = node.get(part);
        if (existing === true) break;
        if (existing) node = existing;
        else {
          const next: Tree = new Map();
          node.set(part, next);
          node = next;
        }
      }
    }
  }
  return root;
}

function includeTree(doc: Doc, tree: Tree): Doc {
  const out: Doc = {};
  for (const key of Object.keys(doc)) {
    const node = tree.get(key);
    if (!node) continue;
    const value = doc[key];
    if (node === true) {
      out[key] = value;
    } else if (isPlainObject(value)) {
      out[key] = includeTree(value, node);
    } else if (Array.isArray(value)) {
      out[key] = includeArray(value, node);
    }
  }
  return out;
}

function includeArray(arr: unknown[], node: Tree): unknown[] {
  const out: unknown[] = [];
  for (const el of arr) {
    if (isPlainObject(el)) out.push(includeTree(el, node));
    else if (Array.isArray(el)) out.push(includeArray(el, node));
  }
  return out;
}

function excludeTree(value: unknown, tree: Tree): unknown {
  if (Array.isArray(value)) return value.map((el) => (isPlainObject(el) || Array.isArray(el) ? excludeTree(el, tree) : el));
  if (!isPlainObject(value)) return value;
  const out: Doc = {};
  for (const key of Object.keys(value)) {
    const node = tree.get(key);
    if (node === true) continue;
    out[key] = node ? excludeTree(value[key], node) : value[key];
  }
  return out;
}

function applyPositional(out: Doc, doc: Doc, filter: Doc, path: string): void {
  const idx = positionalMatchIndex(filter, doc, path);
  const parts = path.split('.');
  let cur: unknown = out;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = isPlainObject(cur) ? cur[parts[i]!] : undefined;
  }
  const last = parts[parts.length - 1]!;
  if (!isPlainObject(cur)) return;
  const arr = cur[last];
  if (!Array.isArray(arr)) return;
  if (idx < 0) {
    fail(ErrorCodes.BadValue, 'Executor error during find command :: caused by :: positional operator \'.$\' couldn\'t find a matching element in the array');
  }
  cur[last] = arr.slice(idx, idx + 1);
}

function viaMingo(spec: Doc): CompiledProjection {
  const stage = { $project: spec };
  return {
    apply(doc) {
      const [result] = runPipeline([queryView(doc)], [stage]);
      if (!result) return {};
      const typed = (queryView(doc) === doc ? result : restoreTypes(doc, cloneValue(result), true)) as Doc;
      if (!('_id' in typed) || Object.keys(typed)[0] === '_id') return typed;
      const ordered: Doc = { _id: typed._id };
      for (const k of Object.keys(typed)) if (k !== '_id') ordered[k] = typed[k];
      return ordered;
    },
  };
}
