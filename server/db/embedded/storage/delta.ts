/**
 * Journal deltas: what changed between two versions of a stored document, small enough to journal
 * instead of the whole new version, and exact enough that applying it to the old version rebuilds
 * the new one (the same values with the same BSON types, the same field order).
 *
 * A delta is a list of changes, each at a path of segments (a string names an object field, a
 * number an array index):
 *   { s: path, v }             set the value at `path` (an existing field keeps its position, a new
 *                              one is appended to its object)
 *   { u: path }                remove the field at `path`
 *   { r: path, at, n, v: [] }  splice the array at `path`: remove `n` elements from index `at` and
 *                              insert the elements of `v` there
 *
 * `diffDocuments` relies on what `applyUpdate` guarantees: a new version shares every unchanged
 * sub-tree with the old one (the same object), so the diff descends only into what differs.
 */
import { ErrorCodes, fail } from '../errors.js';
import { isPlainObject, type Doc } from '../values.js';

export type DeltaPath = Array<string | number>;
export type DeltaChange = { s: DeltaPath; v: unknown } | { u: DeltaPath } | { r: DeltaPath; at: number; n: number; v: unknown[] };

/** Beyond this many changes the whole document is journaled instead. */
export const MAX_DELTA_CHANGES = 64;

class TooLarge extends Error {}

/**
 * The changes that turn `prev` into `next` (two versions of one document, same `_id`), or
 * undefined when they are more than MAX_DELTA_CHANGES (journal the whole document then).
 */
export function diffDocuments(prev: Doc, next: Doc): DeltaChange[] | undefined {
  const out: DeltaChange[] = [];
  try {
    diffObject(prev, next, [], out);
  } catch (err) {
    if (err instanceof TooLarge) return undefined;
    throw err;
  }
  return out;
}

function push(out: DeltaChange[], change: DeltaChange): void {
  if (out.length >= MAX_DELTA_CHANGES) throw new TooLarge();
  out.push(change);
}

function diffValue(prev: unknown, next: unknown, path: DeltaPath, out: DeltaChange[]): void {
  if (isPlainObject(prev) && isPlainObject(next)) diffObject(prev, next, path, out);
  else if (Array.isArray(prev) && Array.isArray(next)) diffArray(prev, next, path, out);
  else push(out, { s: path, v: next });
}

/**
 * Diffs two objects field by field. The leading fields of `next` that are `prev`'s remaining
 * fields in `prev`'s order stay in place (diffed recursively); fields `next` lacks are removed;
 * every later field of `next` is (removed, if `prev` has it, and) set again in `next`'s order, so
 * that applying the changes appends them in that order. (JavaScript puts integer-like keys first
 * in both versions alike, so the rebuilt order is `next`'s in every case.)
 */
function diffObject(prev: Doc, next: Doc, path: DeltaPath, out: DeltaChange[]): void {
  const has = (o: Doc, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  const nextKeys = Object.keys(next);
  let kept = 0;
  for (const k of Object.keys(prev)) {
    if (!has(next, k)) push(out, { u: [...path, k] });
    else if (kept < nextKeys.length && nextKeys[kept] === k) {
      kept++;
      if (!Object.is(prev[k], next[k])) diffValue(prev[k], next[k], [...path, k], out);
    } else push(out, { u: [...path, k] });
  }
  for (let i = kept; i < nextKeys.length; i++) push(out, { s: [...path, nextKeys[i]!], v: next[nextKeys[i]!] });
}

/** Same length: element by element. Otherwise one splice of what lies between the common prefix and suffix. */
function diffArray(prev: unknown[], next: unknown[], path: DeltaPath, out: DeltaChange[]): void {
  if (prev.length === next.length) {
    for (let i = 0; i < next.length; i++) if (!Object.is(prev[i], next[i])) diffValue(prev[i], next[i], [...path, i], out);
    return;
  }
  let start = 0;
  const min = Math.min(prev.length, next.length);
  while (start < min && Object.is(prev[start], next[start])) start++;
  let end = 0;
  while (end < min - start && Object.is(prev[prev.length - 1 - end], next[next.length - 1 - end])) end++;
  push(out, { r: path, at: start, n: prev.length - start - end, v: next.slice(start, next.length - end) });
}

function isContainer(v: unknown): v is Doc | unknown[] {
  return Array.isArray(v) || isPlainObject(v);
}

/**
 * Applies a delta to `doc` and returns the new version; `doc` itself is not changed (the objects
 * and arrays on the changed paths are copied, the rest is shared). Throws a command error when the
 * delta does not fit the document (it was made for another version).
 */
export function applyDelta(doc: Doc, changes: DeltaChange[]): Doc {
  const root: Doc = { ...doc };
  const own = new Set<object>([root]);
  for (const change of changes) {
    const path = 's' in change ? change.s : 'u' in change ? change.u : change.r;
    if (!Array.isArray(path) || path.length === 0) fail(ErrorCodes.BadValue, 'journal delta with an empty path');
    const target = 'r' in change ? path : path.slice(0, -1);
    let node: Doc | unknown[] = root;
    for (const seg of target) {
      const child: unknown = (node as Record<string | number, unknown>)[seg];
      if (!isContainer(child)) fail(ErrorCodes.BadValue, `journal delta path ${JSON.stringify(path)} does not fit the document`);
      let copy: Doc | unknown[] = child;
      if (!own.has(child)) {
        copy = Array.isArray(child) ? child.slice() : { ...child };
        own.add(copy);
        (node as Record<string | number, unknown>)[seg] = copy;
      }
      node = copy;
    }
    if ('r' in change) {
      if (!Array.isArray(node) || !Array.isArray(change.v)) fail(ErrorCodes.BadValue, `journal delta splices a non-array at ${JSON.stringify(path)}`);
      node.splice(change.at, change.n, ...change.v);
      continue;
    }
    const last = path[path.length - 1]!;
    if ('u' in change) delete (node as Record<string | number, unknown>)[last];
    else (node as Record<string | number, unknown>)[last] = change.v;
  }
  return root;
}
