/**
 * Secondary indexes: for each key prefix of the index (a compound index keeps one per prefix, so
 * equality on any leading subset of its fields is a lookup too), a compact hash table from the
 * 32-bit hash of the canonical key string (see `keyString`) to the slots of the documents holding
 * that key. Keys are not kept: documents whose keys only share a hash share an entry, and a lookup
 * checks the key of each document it returns. A hash held by one document maps to its slot
 * directly (most keys of a near-unique index, such as a ledger's, have one holder); a sorted
 * array of slots (4 bytes each) from the second holder on, so lookups return documents in
 * insertion order, as a real index returns equal keys in record id order. Arrays are multikey (one entry per element).
 */
import { ErrorCodes, MongoCommandError, fail } from '../errors.js';
import { compileQuery, type Matcher } from '../query/mingo.js';
import { pathValues } from '../query/paths.js';
import { formatValue, isPlainObject, keyString, queryView, toQueryValue, type Doc } from '../values.js';
import { hashKey } from './docstore.js';

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

/** One entry per combination of indexed values: the key string and the values themselves. */
interface KeyEntry {
  key: string;
  values: unknown[];
}

const MAX_KEYS_PER_DOC = 10_000;

/** Where an index finds the documents of its slots. */
export interface SlotReader {
  /** The current document of a live slot. */
  peek(slot: number): Doc;
}

const EMPTY = 0;
const REMOVED = -0x80000000;

/** The slots of the documents sharing one hash, in slot (insertion) order: 4 bytes each. */
class SlotList {
  private a = new Int32Array(4);
  n = 0;

  constructor(x: number, y: number) {
    this.a[0] = Math.min(x, y);
    this.a[1] = Math.max(x, y);
    this.n = 2;
  }

  /** Index of `slot`, or -(insertion point + 1). */
  private search(slot: number): number {
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.a[mid]!;
      if (v < slot) lo = mid + 1;
      else if (v > slot) hi = mid - 1;
      else return mid;
    }
    return -(lo + 1);
  }

  add(slot: number): void {
    const at = this.n > 0 && slot > this.a[this.n - 1]! ? -(this.n + 1) : this.search(slot);
    if (at >= 0) return;
    const i = -at - 1;
    if (this.n === this.a.length) {
      const next = new Int32Array(Math.ceil(this.a.length * 1.5) + 4);
      next.set(this.a);
      this.a = next;
    }
    if (i < this.n) this.a.copyWithin(i + 1, i, this.n);
    this.a[i] = slot;
    this.n++;
  }

  remove(slot: number): void {
    const i = this.search(slot);
    if (i < 0) return;
    this.a.copyWithin(i, i + 1, this.n);
    this.n--;
    if (this.n * 4 < this.a.length && this.a.length > 16) this.a = this.a.slice(0, this.n * 2);
  }

  first(): number {
    return this.a[0]!;
  }

  toArray(): number[] {
    return Array.from(this.a.subarray(0, this.n));
  }
}

/**
 * Open addressing table (linear probing) from a 32-bit hash to its holders: `vals` is slot + 1 for
 * one holder, -(group + 1) for a SlotList, 0 for an empty cell, REMOVED for a removed one.
 */
class HashSlots {
  private hashes = new Int32Array(16);
  private vals = new Int32Array(16);
  private used = 0;
  private size = 0;
  private groups: Array<SlotList | undefined> = [];
  private freeGroups: number[] = [];

  private find(h: number): number {
    const mask = this.vals.length - 1;
    for (let i = (Math.imul(h, 0x9e3779b1) >>> 0) & mask; ; i = (i + 1) & mask) {
      const v = this.vals[i]!;
      if (v === EMPTY) return -1;
      if (v !== REMOVED && this.hashes[i] === h) return i;
    }
  }

  /** The slots holding hash `h`, in slot order: one slot, or several. */
  get(h: number): number | number[] | undefined {
    const i = this.find(h);
    if (i < 0) return undefined;
    const v = this.vals[i]!;
    return v > 0 ? v - 1 : this.groups[-v - 1]!.toArray();
  }

  /** How many slots hold hash `h`. */
  count(h: number): number {
    const i = this.find(h);
    if (i < 0) return 0;
    const v = this.vals[i]!;
    return v > 0 ? 1 : this.groups[-v - 1]!.n;
  }

  add(h: number, slot: number): void {
    const i = this.find(h);
    if (i >= 0) {
      const v = this.vals[i]!;
      if (v > 0) {
        if (v - 1 === slot) return;
        const g = this.freeGroups.pop() ?? this.groups.length;
        this.groups[g] = new SlotList(v - 1, slot);
        this.vals[i] = -(g + 1);
      } else {
        this.groups[-v - 1]!.add(slot);
      }
      return;
    }
    if ((this.used + 1) * 5 > this.vals.length * 4) this.rehash();
    const mask = this.vals.length - 1;
    for (let j = (Math.imul(h, 0x9e3779b1) >>> 0) & mask; ; j = (j + 1) & mask) {
      const v = this.vals[j]!;
      if (v === EMPTY || v === REMOVED) {
        if (v === EMPTY) this.used++;
        this.hashes[j] = h;
        this.vals[j] = slot + 1;
        this.size++;
        return;
      }
    }
  }

  remove(h: number, slot: number): void {
    const i = this.find(h);
    if (i < 0) return;
    const v = this.vals[i]!;
    if (v > 0) {
      if (v - 1 !== slot) return;
      this.vals[i] = REMOVED;
      this.size--;
      return;
    }
    const g = -v - 1;
    const list = this.groups[g]!;
    list.remove(slot);
    if (list.n > 1) return;
    this.groups[g] = undefined;
    this.freeGroups.push(g);
    if (list.n === 1) {
      this.vals[i] = list.first() + 1;
    } else {
      this.vals[i] = REMOVED;
      this.size--;
    }
  }

  private rehash(): void {
    const oldHashes = this.hashes;
    const oldVals = this.vals;
    let cap = 16;
    while (cap < (this.size + 1) * 2) cap *= 2;
    this.hashes = new Int32Array(cap);
    this.vals = new Int32Array(cap);
    this.used = this.size;
    const mask = cap - 1;
    for (let k = 0; k < oldVals.length; k++) {
      const v = oldVals[k]!;
      if (v === EMPTY || v === REMOVED) continue;
      const h = oldHashes[k]!;
      let j = (Math.imul(h, 0x9e3779b1) >>> 0) & mask;
      while (this.vals[j] !== EMPTY) j = (j + 1) & mask;
      this.hashes[j] = h;
      this.vals[j] = v;
    }
  }
}

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
  /** levels[i]: hash of the key of the first i+1 fields → slots. */
  private readonly levels: HashSlots[];

  constructor(
    spec: IndexSpec,
    private readonly reader: SlotReader,
  ) {
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
    this.levels = this.fields.map(() => new HashSlots());
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

  /** Whether `doc` holds the key whose per-field key strings are `keys` (a prefix of the fields). */
  private holds(doc: Doc, keys: string[]): boolean {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (!pathValues(doc, this.fields[i]!, true).some((v) => keyString(v) === k)) return false;
    }
    return true;
  }

  /** Throws E11000 if adding `doc` (replacing the version in slot `self`, if given) would violate uniqueness. */
  checkUnique(ns: string, doc: Doc, entries: KeyEntry[][] | undefined, self?: number): void {
    if (!this.unique || !entries) return;
    const full = this.levels[this.levels.length - 1]!;
    for (const e of entries[entries.length - 1]!) {
      const holders = full.get(hashKey(e.key));
      if (holders === undefined) continue;
      const keys = e.values.map((v) => keyString(v));
      for (const other of typeof holders === 'number' ? [holders] : holders) {
        if (other !== self && this.holds(this.reader.peek(other), keys)) {
          const keyValue: Doc = {};
          this.fields.forEach((f, i) => (keyValue[f] = e.values[i]));
          throw duplicateKeyError(ns, this.name, this.spec.key, keyValue);
        }
      }
    }
  }

  add(slot: number, entries: KeyEntry[][] | undefined): void {
    if (!entries) return;
    for (let i = 0; i < entries.length; i++) {
      const level = this.levels[i]!;
      for (const e of entries[i]!) level.add(hashKey(e.key), slot);
    }
  }

  remove(slot: number, entries: KeyEntry[][] | undefined): void {
    if (!entries) return;
    for (let i = 0; i < entries.length; i++) {
      const level = this.levels[i]!;
      for (const e of entries[i]!) level.remove(hashKey(e.key), slot);
    }
  }

  /** Slots that may hold the key whose first `keys.length` fields have these key strings (a superset: check with `holds`). */
  candidates(keys: string[]): number | number[] | undefined {
    return this.levels[keys.length - 1]?.get(hashKey(keys.join('|')));
  }

  /** How many slots `candidates(keys)` would return. */
  candidateCount(keys: string[]): number {
    return this.levels[keys.length - 1]?.count(hashKey(keys.join('|'))) ?? 0;
  }

  /** Moves `slot` from its old keys to its new ones, leaving the levels whose keys did not change alone. */
  update(slot: number, before: KeyEntry[][] | undefined, after: KeyEntry[][] | undefined): void {
    if (!before || !after) {
      this.remove(slot, before);
      this.add(slot, after);
      return;
    }
    for (let i = 0; i < before.length; i++) {
      const a = before[i]!;
      const b = after[i]!;
      if (a.length === b.length && a.every((e, j) => e.key === b[j]!.key)) continue;
      const level = this.levels[i]!;
      for (const e of a) level.remove(hashKey(e.key), slot);
      for (const e of b) level.add(hashKey(e.key), slot);
    }
  }

  /** Documents whose first `keys.length` indexed fields equal `keys` (as key strings), or undefined when there are none. */
  lookup(keys: string[], read: (slot: number) => Doc = (s) => this.reader.peek(s)): Doc[] | undefined {
    const holders = this.candidates(keys);
    if (holders === undefined) return undefined;
    const out: Doc[] = [];
    for (const slot of typeof holders === 'number' ? [holders] : holders) {
      const doc = read(slot);
      if (this.holds(doc, keys)) out.push(doc);
    }
    return out.length ? out : undefined;
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
