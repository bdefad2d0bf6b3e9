/** Finds the array element the positional operator `$` refers to, for updates and projections. */
import { isPlainObject, queryView, toQueryValue, type Doc } from '../values.js';
import { compileQuery } from './mingo.js';
import { getPath, setPath } from './paths.js';

/**
 * Index of the first element of the array at `arrayPath` that satisfies the filter conditions on
 * that array (keys equal to `arrayPath` or below it), or -1.
 */
export function positionalMatchIndex(filter: Doc, doc: Doc, arrayPath: string): number {
  const arr = getPath(doc, arrayPath);
  if (!Array.isArray(arr)) return -1;
  const conditions: Doc = {};
  collectConditions(filter, arrayPath, conditions);
  const keys = Object.keys(conditions);
  if (keys.length === 0) return -1;
  const query = compileQuery(toQueryValue(conditions));
  for (let i = 0; i < arr.length; i++) {
    const probe: Doc = {};
    setPath(probe, arrayPath, [queryView(arr[i])]);
    if (query.test(probe)) return i;
  }
  return -1;
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
