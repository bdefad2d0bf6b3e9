/** Builds the seed document of an upsert from the equality conditions of its filter. */
import { isPlainObject, cloneValue, type Doc } from '../values.js';
import { setPath } from '../query/paths.js';

function isEquality(v: unknown): boolean {
  if (v instanceof RegExp) return false;
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$eq') return true;
    return !keys.some((k) => k.startsWith('$'));
  }
  return true;
}

export function upsertSeed(filter: Doc): Doc {
  const seed: Doc = {};
  collect(filter, seed);
  return seed;
}

function collect(filter: Doc, seed: Doc): void {
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (isPlainObject(sub)) collect(sub, seed);
      continue;
    }
    if (k.startsWith('$')) continue;
    if (!isEquality(v)) continue;
    const value = isPlainObject(v) && Object.keys(v)[0] === '$eq' ? v.$eq : v;
    setPath(seed, k, cloneValue(value));
  }
}
