/** Finds the array element the positional operator `$` refers to, for updates and projections. */
import { isPlainObject, keyString, queryView, toQueryValue, type Doc } from '../values.js';
import { compileQuery, type Matcher } from './mingo.js';
import { getPath, setPath } from './paths.js';

/**
 * Index of the first element of the array at `arrayPath` that satisfies the filter conditions on
 * that array (keys equal to `arrayPath` or below it), or -1.
 */
export function positionalMatchIndex(filter: Doc, doc: Doc, arrayPath: string): number {
  // The elements as the document's (cached) query view holds them: no conversion per element.
  const arr = getPath(queryView(doc), arrayPath);
  if (!Array.isArray(arr)) return -1;
  const conditions: Doc = {};
  collectConditions(filter, arrayPath, conditions);
  const keys = Object.keys(conditions);
  if (keys.length === 0) return -1;
  const conditionsKey = keyString(conditions);
  const key = arrayPath + '\u0000' + conditionsKey;
  const memo = found.get(doc);
  if (memo && memo.key === key && memo.arr === arr) return memo.index;
  const hint = hints.get(doc);
  const query = compiled(conditionsKey, conditions);
  // One probe document whose array at `arrayPath` holds just the element being tested.
  const slot: unknown[] = [undefined];
  const probe: Doc = {};
  setPath(probe, arrayPath, slot);
  let index = -1;
  for (let i = hint && hint.key === key ? unchangedNonMatching(hint, arr) : 0; i < arr.length; i++) {
    slot[0] = arr[i];
    if (query.test(probe)) {
      index = i;
      break;
    }
  }
  found.set(doc, { key, arr, index });
  return index;
}

/** A positional match computed on a stored document: which conditions, the array (query view) and the index. */
interface Match {
  key: string;
  arr: unknown[];
  index: number;
}

/** The last match computed on each stored document (stored documents never change). */
const found = new WeakMap<Doc, Match>();
/** The last match computed on the version a stored document replaced. */
const hints = new WeakMap<Doc, Match>();

/**
 * Records that `next` replaces `prev` (called when a document is updated), so a positional match
 * on `next` with the conditions last matched on `prev` skips the elements before the one found
 * there that are still the same (the same objects, so they still do not match): after a small
 * update the match costs one pass of identity checks instead of one test per element.
 */
export function inheritPositionalMatch(prev: Doc, next: Doc): void {
  const m = found.get(prev) ?? hints.get(prev);
  if (m) hints.set(next, m);
}

/** How many leading elements of `arr` are known not to match: those still identical to the non-matching ones of `hint`. */
function unchangedNonMatching(hint: Match, arr: unknown[]): number {
  const known = Math.min(hint.index < 0 ? hint.arr.length : hint.index, arr.length);
  let i = 0;
  while (i < known && arr[i] === hint.arr[i]) i++;
  return i;
}

const CACHE_MAX = 500;
const cache = new Map<string, Matcher>();

/** The compiled conditions, cached by their exact content (a repeated update compiles nothing). */
function compiled(key: string, conditions: Doc): Matcher {
  let q = cache.get(key);
  if (!q) {
    q = compileQuery(toQueryValue(conditions));
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, q);
  }
  return q;
}

function collectConditions(filter: Doc, arrayPath: string, out: Doc): void {
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (isPlainObject(sub)) collectConditions(sub, arrayPath, out);
    } else if (k === arrayPath || k.startsWith(arrayPath + '.')) {
      out[k] = v;
    }
  }
}
