/** Dotted-path reading with MongoDB's implicit traversal of arrays. */
import { isPlainObject, type Doc } from '../values.js';

/**
 * All values a dotted path reaches, descending into arrays of sub-documents. Missing values are
 * reported as `undefined`; when `expandLeafArrays` is true, an array at the end of the path
 * contributes its elements (as index keys and sort keys do) instead of itself.
 */
export function pathValues(doc: unknown, path: string, expandLeafArrays: boolean): unknown[] {
  const parts = path.split('.');
  const out: unknown[] = [];
  collect(doc, parts, 0, expandLeafArrays, out);
  return out;
}

function collect(value: unknown, parts: string[], i: number, expand: boolean, out: unknown[]): void {
  if (i === parts.length) {
    if (expand && Array.isArray(value)) {
      if (value.length === 0) out.push(undefined);
      else for (const v of value) out.push(v);
    } else {
      out.push(value);
    }
    return;
  }
  const key = parts[i]!;
  if (Array.isArray(value)) {
    if (/^\d+$/.test(key)) {
      collect(value[Number(key)], parts, i + 1, expand, out);
      return;
    }
    if (value.length === 0) {
      out.push(undefined);
      return;
    }
    for (const el of value) {
      if (isPlainObject(el)) collect(el[key], parts, i + 1, expand, out);
      else out.push(undefined);
    }
    return;
  }
  if (isPlainObject(value)) {
    collect(value[key], parts, i + 1, expand, out);
    return;
  }
  out.push(undefined);
}

/** Reads a dotted path without array traversal (numeric segments index arrays). */
export function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined;
      cur = cur[Number(part)];
    } else if (isPlainObject(cur)) {
      cur = cur[part];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Sets a dotted path, creating intermediate objects. Used for building upsert documents. */
export function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Doc = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]!;
    const next = cur[k];
    if (!isPlainObject(next)) {
      const created: Doc = {};
      cur[k] = created;
      cur = created;
    } else {
      cur = next;
    }
  }
  cur[parts[parts.length - 1]!] = value;
}
