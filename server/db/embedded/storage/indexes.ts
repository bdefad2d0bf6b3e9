/**
 * Secondary indexes: hash maps from a canonical key string (see `keyString`) to the documents
 * holding that key. A compound index keeps one map per key prefix, so equality on any leading
 * subset of its fields is a lookup too. Arrays are multikey (one entry per element).
 */
import { ErrorCodes, MongoCommandError, fail } from '../errors.js';
import { compileQuery, type Matcher } from '../query/mingo.js';
import { pathValues } from '../query/paths.js';
import { formatValue, isPlainObject, keyString, queryView, toQueryValue, type Doc } from '../values.js';

export interface IndexSpec {
  v?: number;
  key: Doc;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Doc;
  expireAfterSeconds?: number;
  [option: string]: unknown;
}

/**
 * The documents holding one key: the document itself while it is the only one (most keys of a
 * near-unique index, such as a ledger's, have one holder, and a Set per key would cost more memory
 * than the document), a Set from the second holder on.
 */
type Holders = Doc | Set<Doc>;

function* holdersOf(holders: Holders): Iterable<Doc> {
  if (holders instanceof Set) yield* holders;
  else yield holders;
}

/** One entry per combination of indexed values: the key string and the values themselves. */
interface KeyEntry {
  key: string;
  values: unknown[];
}

const MAX_KEYS_PER_DOC = 10_000;

export function duplicateKeyError(ns: string, indexName: string, keyPattern: Doc, keyValue: Doc): MongoCommandError {
  return new MongoCommandError(
    ErrorCodes.DuplicateKey,
    `E11000 duplicate key error collection: ${ns} index: ${indexName} dup key: ${formatValue(keyValue)}`,
    { keyPattern, keyValue },
  );
}

export class Index {
  readonly spec: IndexSpec;
  readonly name: string;
  readonly fields: string[];
  readonly unique: boolean;
  readonly sparse: boolean;
  /** Whether the index can answer equality lookups (text/geo indexes cannot). */
  readonly lookupable: boolean;
  private readonly partial: Matcher | undefined;
  /** maps[i]: key of the first i+1 fields → documents. */
  private readonly maps: Map<string, Holders>[];

  constructor(spec: IndexSpec) {
    if (!isPlainObject(spec.key) || Object.keys(spec.key).length === 0) {
      fail(ErrorCodes.BadValue, 'Index key pattern must be a non-empty object');
    }
    this.spec = spec;
    this.name = spec.name;
    this.fields = Object.keys(spec.key);
    this.unique = spec.unique === true;
    this.sparse = spec.sparse === true;
    this.lookupable = Object.values(spec.key).every((v) => typeof v === 'number' || (typeof v === 'object' && v !== null && !isPlainObject(v)));
    this.partial = spec.partialFilterExpression ? compileQuery(toQueryValue(spec.partialFilterExpression)) : undefined;
    this.maps = this.fields.map(() => new Map<string, Holders>());
  }

  /** Whether a partial filter decides which documents are indexed (no lookup can rely on it). */
  get isPartial(): boolean {
    return this.partial !== undefined;
  }

  /** Key entries of a document for each prefix length, or undefined when the doc is not indexed. */
  entries(doc: Doc): KeyEntry[][] | undefined {
    if (this.partial && !this.partial.test(queryView(doc))) return undefined;
    const perField = this.fields.map((f) => {
      const values = pathValues(doc, f, true);
      const seen = new Map<string, unknown>();
      for (const v of values) {
        const k = keyString(v);
        if (!seen.has(k)) seen.set(k, v === undefined ? null : v);
      }
      return seen;
    });
    if (this.sparse && perField.every((m) => m.size === 1 && m.has('N'))) return undefined;
    const result: KeyEntry[][] = [];
    let combos: KeyEntry[] = [{ key: '', values: [] }];
    for (let i = 0; i < perField.length; i++) {
      const next: KeyEntry[] = [];
      for (const c of combos) {
        for (const [k, v] of perField[i]!) {
          next.push({ key: i === 0 ? k : c.key + '|' + k, values: [...c.values, v] });
          if (next.length > MAX_KEYS_PER_DOC) fail(ErrorCodes.BadValue, `too many index keys for index ${this.name}`);
        }
      }
      combos = next;
      result.push(combos);
    }
    return result;
  }

  /** Throws E11000 if adding `doc` (replacing `self`, if given) would violate uniqueness. */
  checkUnique(ns: string, doc: Doc, entries: KeyEntry[][] | undefined, self?: Doc): void {
    if (!this.unique || !entries) return;
    const full = this.maps[this.maps.length - 1]!;
    for (const e of entries[entries.length - 1]!) {
      const holders = full.get(e.key);
      if (!holders) continue;
      for (const other of holdersOf(holders)) {
        if (other !== self) {
          const keyValue: Doc = {};
          this.fields.forEach((f, i) => (keyValue[f] = e.values[i]));
          throw duplicateKeyError(ns, this.name, this.spec.key, keyValue);
        }
      }
    }
  }

  add(doc: Doc, entries: KeyEntry[][] | undefined): void {
    if (!entries) return;
    entries.forEach((level, i) => {
      const map = this.maps[i]!;
      for (const e of level) {
        const holders = map.get(e.key);
        if (holders === undefined) map.set(e.key, doc);
        else if (holders instanceof Set) holders.add(doc);
        else if (holders !== doc) map.set(e.key, new Set([holders, doc]));
      }
    });
  }

  remove(doc: Doc, entries: KeyEntry[][] | undefined): void {
    if (!entries) return;
    entries.forEach((level, i) => {
      const map = this.maps[i]!;
      for (const e of level) {
        const holders = map.get(e.key);
        if (holders === undefined) continue;
        if (!(holders instanceof Set)) {
          if (holders === doc) map.delete(e.key);
          continue;
        }
        holders.delete(doc);
        if (holders.size === 1) map.set(e.key, holders.values().next().value!);
        else if (holders.size === 0) map.delete(e.key);
      }
    });
  }

  /** Documents whose first `values.length` indexed fields equal `values` (as key strings). */
  lookup(keys: string[]): Iterable<Doc> | undefined {
    const holders = this.maps[keys.length - 1]?.get(keys.join('|'));
    return holders === undefined ? undefined : holders instanceof Set ? holders : [holders];
  }

  clear(): void {
    for (const m of this.maps) m.clear();
  }
}

export function normalizeIndexSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw)) fail(ErrorCodes.BadValue, 'index specification must be an object');
  const key = raw.key;
  if (!isPlainObject(key) || Object.keys(key).length === 0) fail(ErrorCodes.BadValue, "The 'key' field must be a non-empty object");
  if (typeof raw.name !== 'string' || raw.name.length === 0) fail(ErrorCodes.BadValue, "The 'name' field is required");
  const spec: IndexSpec = { v: 2, key, name: raw.name };
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'key' || k === 'name' || k === 'v' || k === 'ns' || k === 'background') continue;
    spec[k] = v;
  }
  if (spec.unique === false) delete spec.unique;
  if (spec.sparse === false) delete spec.sparse;
  return spec;
}

/** Whether two specs describe the same index (ignoring the name). */
export function sameIndexOptions(a: IndexSpec, b: IndexSpec): boolean {
  const pick = (s: IndexSpec) =>
    keyString({
      key: s.key,
      unique: s.unique === true,
      sparse: s.sparse === true,
      partial: s.partialFilterExpression ?? null,
      ttl: s.expireAfterSeconds ?? null,
    });
  return pick(a) === pick(b);
}
