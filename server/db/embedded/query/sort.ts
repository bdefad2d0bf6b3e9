/** Sorting by a MongoDB sort specification, using BSON ordering. */
import { fail, ErrorCodes } from '../errors.js';
import { compareValues, type Doc } from '../values.js';
import { pathValues } from './paths.js';

type SortKey = { path: string; dir: 1 | -1 };

export function parseSort(spec: unknown): SortKey[] {
  if (spec === undefined || spec === null) return [];
  if (typeof spec !== 'object' || Array.isArray(spec)) fail(ErrorCodes.BadValue, 'sort must be an object');
  const keys: SortKey[] = [];
  for (const [path, raw] of Object.entries(spec as Doc)) {
    const n = typeof raw === 'number' ? raw : Number(raw as never);
    if (raw !== null && typeof raw === 'object' && '$meta' in (raw as Doc)) {
      continue; // textScore and friends: no ordering effect here
    }
    if (n !== 1 && n !== -1) fail(ErrorCodes.BadValue, `$sort key ordering must be 1 (for ascending) or -1 (for descending)`);
    keys.push({ path, dir: n as 1 | -1 });
  }
  return keys;
}

function sortKey(doc: Doc, path: string, dir: 1 | -1): unknown {
  const values = pathValues(doc, path, true);
  if (values.length === 1) return values[0];
  let best: unknown = values[0];
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i], best);
    if (dir === 1 ? c < 0 : c > 0) best = values[i];
  }
  return best;
}

/** Stable sort of documents (returns a new array). */
export function sortDocs(docs: Doc[], spec: unknown): Doc[] {
  const keys = parseSort(spec);
  if (keys.length === 0) return docs;
  if (keys[0]!.path === '$natural') return keys[0]!.dir === 1 ? docs : [...docs].reverse();
  const decorated = docs.map((doc, i) => ({ doc, i, k: keys.map((k) => sortKey(doc, k.path, k.dir)) }));
  decorated.sort((a, b) => {
    for (let j = 0; j < keys.length; j++) {
      const c = compareValues(a.k[j], b.k[j]);
      if (c !== 0) return c * keys[j]!.dir;
    }
    return a.i - b.i;
  });
  return decorated.map((d) => d.doc);
}
