/**
 * Secondary indexes: for each key prefix of the index (a compound index keeps one per prefix, so
 * equality on any leading subset of its fields is a lookup too), a compact hash table from the
 * 32-bit hash of the canonical key string (see `keyString`) to the slots of the documents holding
 * that key. Keys are not kept: documents whose keys only share a hash share an entry, and a lookup
 * checks the key of each document it returns. A hash held by one document maps to its slot
 * directly (most keys of a near-unique index, such as a ledger's, have one holder); a sorted
 * array of slots (4 bytes each) from the second holder on, so lookups return documents in
 * insertion order, as a real index returns equal keys in record id order. Arrays are multikey (one entry per element).
 *
 * A group of a level that has a next field is kept ordered by that field's value while every
 * document of the group has one such value orderable as a number, all of one kind (dates or
 * numbers): its slots sorted by (value, slot) with the values in a parallel Float64Array, so the
 * planner can read a range of the next field (or the group in its order) without decoding the rest
 * (`orderedRange`). One document that breaks this (an array, missing, null, another type, a Long)
 * turns the group unordered (slot order, as above) for good.
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
  /**
   * Whether one of the values is null (or missing): the planner never looks such a key up (no
   * equality on null is planned), so its group is not worth ordering.
   */
  nullish: boolean;
}

/** A document's key entries for each prefix length, and its key on the field after each prefix. */
type IndexEntries = KeyEntry[][] & { order: OrderKey[]; root: RootKey };

/** A document's key in the index's root group (see `Index.root`): a key, none, or "breaks it" (an array on the way). */
type RootKey = OrderKey | typeof MULTIKEY;
const MULTIKEY = 'multikey';

const MAX_KEYS_PER_DOC = 10_000;

/** Where an index finds the documents of its slots. */
export interface SlotReader {
  /** The current document of a live slot. */
  peek(slot: number): Doc;
  /** Every live slot, in slot order. */
  liveSlots(): Iterable<number>;
}

const EMPTY = 0;
const REMOVED = -0x80000000;

/** How the documents of a group are ordered by the next field of the index (see `orderKey`). */
export const UNORDERED = 0;
export const DATES = 1;
export const NUMBERS = 2;
export type OrderKind = typeof DATES | typeof NUMBERS;

/** A document's sort key on the next field of a level: its kind (0: none) and value. */
export interface OrderKey {
  kind: typeof UNORDERED | OrderKind;
  key: number;
}

const NO_KEY: OrderKey = { kind: UNORDERED, key: NaN };

/**
 * The value of `path` in `doc` as a number, when it is one value orderable as a number: a Date
 * (its time) or a JS number / Double / Int32 (not NaN, not a Long or a Decimal128), reached
 * through embedded documents only (no arrays). Anything else (missing, null, arrays, other types)
 * has no key.
 */
export function orderKey(doc: Doc, path: readonly string[]): OrderKey {
  let v: unknown = doc;
  for (const part of path) {
    if (!isPlainObject(v)) return NO_KEY;
    v = v[part];
  }
  return valueKey(v);
}

/** The key of one value (see `orderKey`). */
export function valueKey(v: unknown): OrderKey {
  if (typeof v === 'number') return Number.isNaN(v) ? NO_KEY : { kind: NUMBERS, key: v };
  if (v instanceof Date) {
    const t = v.getTime();
    return Number.isNaN(t) ? NO_KEY : { kind: DATES, key: t };
  }
  const t = v !== null && typeof v === 'object' ? (v as { _bsontype?: string })._bsontype : undefined;
  if (t === 'Double' || t === 'Int32') {
    const n = (v as { value: number }).value;
    return Number.isNaN(n) ? NO_KEY : { kind: NUMBERS, key: n };
  }
  return NO_KEY;
}

/**
 * The key of a document in an index's root group: the date at `path` reached through embedded
 * documents; MULTIKEY when an array is on the way (the root cannot hold several keys of a document);
 * no key for anything else (such a document never meets a range of dates).
 */
function rootKey(doc: Doc, path: readonly string[]): RootKey {
  let v: unknown = doc;
  for (const part of path) {
    if (Array.isArray(v)) return MULTIKEY;
    if (!isPlainObject(v)) return NO_KEY;
    v = v[part];
  }
  if (Array.isArray(v)) return MULTIKEY;
  return v instanceof Date ? valueKey(v) : NO_KEY;
}

/** The root group's limit on insertions before its end (a memmove of up to 768 KB). */
const ROOT_MAX_SHIFT = 65_536;

/**
 * An insertion this far before the end of an ordered group turns it unordered instead (inserts in
 * the middle of a large group move the ones after them: a group whose keys arrive in random order,
 * such as the licenses of an account, is not worth keeping ordered).
 */
const MAX_ORDERED_SHIFT = 4096;

/**
 * The slots of the documents sharing one hash: 4 bytes each. While every document of the group has
 * a key of one kind on the next field of the index (`orderKey`), the slots are sorted by (key,
 * slot), with the keys in a parallel array (8 bytes each); from the first document without one (or
 * of another kind) on, the group is unordered for good: slots in slot (insertion) order, no keys.
 */
class SlotGroup {
  /** The slots are a[s, s + n) (and their keys k[s, s + n)): removals near the front move the front. */
  private a = new Int32Array(4);
  private k: Float64Array | null = null;
  private s = 0;
  kind: typeof UNORDERED | OrderKind = UNORDERED;
  n = 0;
  /** How far before the end an insertion may be before the group turns unordered (see MAX_ORDERED_SHIFT). */
  private maxShift = MAX_ORDERED_SHIFT;

  /** An ordered group of these slots and keys, already sorted by (key, slot). */
  static sorted(kind: OrderKind, slots: Int32Array<ArrayBuffer>, keys: Float64Array<ArrayBuffer>, maxShift = MAX_ORDERED_SHIFT): SlotGroup {
    const g = new SlotGroup(0, NO_KEY, 1, NO_KEY);
    g.a = slots.length ? slots : new Int32Array(4);
    g.k = slots.length ? keys : new Float64Array(4);
    g.kind = kind;
    g.n = slots.length;
    g.maxShift = maxShift;
    return g;
  }

  constructor(x: number, kx: OrderKey, y: number, ky: OrderKey) {
    if (kx.kind !== UNORDERED && kx.kind === ky.kind) {
      this.kind = kx.kind;
      this.k = new Float64Array(4);
      const xFirst = kx.key < ky.key || (kx.key === ky.key && x < y);
      this.a[0] = xFirst ? x : y;
      this.a[1] = xFirst ? y : x;
      this.k[0] = xFirst ? kx.key : ky.key;
      this.k[1] = xFirst ? ky.key : kx.key;
    } else {
      this.a[0] = Math.min(x, y);
      this.a[1] = Math.max(x, y);
    }
    this.n = 2;
  }

  /** Position (from the front) of `slot` (with key `key` when ordered), or -(insertion point + 1). */
  private search(slot: number, key: number): number {
    let lo = 0;
    let hi = this.n - 1;
    const k = this.k;
    const s = this.s;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.a[s + mid]!;
      const c = k ? (k[s + mid]! < key ? -1 : k[s + mid]! > key ? 1 : v - slot) : v - slot;
      if (c < 0) lo = mid + 1;
      else if (c > 0) hi = mid - 1;
      else return mid;
    }
    return -(lo + 1);
  }

  /** Back to slot order without keys, for good. */
  private unorder(): void {
    this.a.subarray(this.s, this.s + this.n).sort();
    this.k = null;
    this.kind = UNORDERED;
  }

  /** Moves the slots (and keys) to the front of arrays of `size`. */
  private relocate(size: number): void {
    const a = new Int32Array(size);
    a.set(this.a.subarray(this.s, this.s + this.n));
    this.a = a;
    if (this.k) {
      const k = new Float64Array(size);
      k.set(this.k.subarray(this.s, this.s + this.n));
      this.k = k;
    }
    this.s = 0;
  }

  add(slot: number, key: OrderKey): void {
    if (this.k && key.kind !== this.kind) this.unorder();
    const at = this.search(slot, key.key);
    if (at >= 0) return;
    let i = -at - 1;
    if (this.k && this.n - i > this.maxShift) {
      this.unorder();
      const j = this.search(slot, key.key);
      if (j >= 0) return;
      i = -j - 1;
    }
    const s = this.s;
    if (i < this.n / 2 && s > 0) {
      // Closer to the front, with room before it: the front moves back by one.
      this.a.copyWithin(s - 1, s, s + i);
      this.k?.copyWithin(s - 1, s, s + i);
      this.s = s - 1;
    } else {
      if (s + this.n === this.a.length) this.relocate(s >= this.a.length / 4 ? this.a.length : Math.ceil(this.a.length * 1.5) + 4);
      const t = this.s;
      if (i < this.n) {
        this.a.copyWithin(t + i + 1, t + i, t + this.n);
        this.k?.copyWithin(t + i + 1, t + i, t + this.n);
      }
    }
    this.a[this.s + i] = slot;
    if (this.k) this.k[this.s + i] = key.key;
    this.n++;
  }

  remove(slot: number, key: OrderKey): void {
    let i = this.search(slot, key.key);
    if (i < 0 && this.k) i = this.a.subarray(this.s, this.s + this.n).indexOf(slot);
    if (i < 0) return;
    const s = this.s;
    if (i < this.n / 2) {
      // Closer to the front (a TTL or retention pass deletes the oldest first): the front moves up.
      this.a.copyWithin(s + 1, s, s + i);
      this.k?.copyWithin(s + 1, s, s + i);
      this.s = s + 1;
    } else {
      this.a.copyWithin(s + i, s + i + 1, s + this.n);
      this.k?.copyWithin(s + i, s + i + 1, s + this.n);
    }
    this.n--;
    if (this.n * 4 < this.a.length && this.a.length > 16) this.relocate(this.n * 2);
  }

  /** The one slot left (slot order or key order alike). */
  first(): number {
    return this.a[this.s]!;
  }

  /** The slots, in slot order. */
  toArray(): number[] {
    const slots = this.a.subarray(this.s, this.s + this.n);
    return Array.from(this.k ? slots.slice().sort() : slots);
  }

  /**
   * The slots whose key is within the bounds, in (key, slot) order, with their keys (views: use them
   * before the next write); undefined when the group is not ordered.
   */
  range(lo: number, loIncl: boolean, hi: number, hiIncl: boolean): OrderedRun | undefined {
    const k = this.k;
    if (!k) return undefined;
    // First position whose key is above the lower bound, first position whose key is above the upper one.
    const from = this.bound(lo, loIncl);
    const to = Math.max(from, this.bound(hi, !hiIncl));
    return { kind: this.kind as OrderKind, slots: this.a.subarray(this.s + from, this.s + to), keys: k.subarray(this.s + from, this.s + to) };
  }

  /** First position whose key is >= x (strict: > x). */
  private bound(x: number, inclusive: boolean): number {
    const k = this.k!;
    const s = this.s;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (inclusive ? k[s + mid]! < x : k[s + mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Slots in (key, slot) order with their keys on the next field of an index (an empty run may have no kind). */
export interface OrderedRun {
  kind: typeof UNORDERED | OrderKind;
  slots: Int32Array;
  keys: Float64Array;
}

/**
 * Open addressing table (linear probing) from a 32-bit hash to its holders: `vals` is slot + 1 for
 * one holder, -(group + 1) for a SlotGroup, 0 for an empty cell, REMOVED for a removed one.
 * `keyOf` gives a slot's key on the next field of the index (none for the last level): the key of
 * a single holder is not kept, it is read from its document when a second holder arrives.
 */
class HashSlots {
  private hashes = new Int32Array(16);
  private vals = new Int32Array(16);
  private used = 0;
  private size = 0;
  private groups: Array<SlotGroup | undefined> = [];
  private freeGroups: number[] = [];

  constructor(readonly keyOf: ((slot: number) => OrderKey) | undefined) {}

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

  /** The holders of hash `h`: one slot, or their group. */
  holders(h: number): number | SlotGroup | undefined {
    const i = this.find(h);
    if (i < 0) return undefined;
    const v = this.vals[i]!;
    return v > 0 ? v - 1 : this.groups[-v - 1]!;
  }

  /** How many slots hold hash `h`. */
  count(h: number): number {
    const i = this.find(h);
    if (i < 0) return 0;
    const v = this.vals[i]!;
    return v > 0 ? 1 : this.groups[-v - 1]!.n;
  }

  add(h: number, slot: number, key: OrderKey): void {
    const i = this.find(h);
    if (i >= 0) {
      const v = this.vals[i]!;
      if (v > 0) {
        if (v - 1 === slot) return;
        const g = this.freeGroups.pop() ?? this.groups.length;
        // (No need to read the first holder's key when the new one has none: the group is unordered.)
        this.groups[g] = new SlotGroup(v - 1, this.keyOf && key.kind !== UNORDERED ? this.keyOf(v - 1) : NO_KEY, slot, key);
        this.vals[i] = -(g + 1);
      } else {
        this.groups[-v - 1]!.add(slot, key);
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

  /** `slot` stays under hash `h`, with a new key on the next field. */
  rekey(h: number, slot: number, before: OrderKey, after: OrderKey): void {
    const i = this.find(h);
    if (i < 0 || this.vals[i]! > 0) return;
    const group = this.groups[-this.vals[i]! - 1]!;
    group.remove(slot, before);
    group.add(slot, after);
  }

  remove(h: number, slot: number, key: OrderKey): void {
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
    list.remove(slot, key);
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
  /** levels[i]: hash of the key of the first i+1 fields → slots (ordered by field i+1 where they can be). */
  private readonly levels: HashSlots[];
  private readonly paths: string[][];
  /**
   * The root group: the slots of the documents whose first field holds a date, ordered by it, for
   * ranges of dates on the first field (TTL sweeps, lease and retention jobs). Built on its first
   * use (undefined until then), kept up to date from then on; null for good once a document holds
   * an array on that path, an insertion lands too far from the end, or the index is partial.
   */
  private root: SlotGroup | null | undefined = undefined;

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
    this.paths = this.fields.map((f) => f.split('.'));
    this.levels = this.fields.map((_, i) => {
      const next = this.paths[i + 1];
      return new HashSlots(next ? (slot) => orderKey(this.reader.peek(slot), next) : undefined);
    });
  }

  /** Whether a partial filter decides which documents are indexed (no lookup can rely on it). */
  get isPartial(): boolean {
    return this.partial !== undefined;
  }

  /** Key entries of a document for each prefix length, or undefined when the doc is not indexed. */
  entries(doc: Doc): IndexEntries | undefined {
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
    const result = [] as unknown as IndexEntries;
    let combos: KeyEntry[] = [{ key: '', values: [], nullish: false }];
    for (let i = 0; i < perField.length; i++) {
      const next: KeyEntry[] = [];
      for (const c of combos) {
        for (const [k, v] of perField[i]!) {
          next.push({ key: i === 0 ? k : c.key + '|' + k, values: [...c.values, v], nullish: c.nullish || v === null });
          if (next.length > MAX_KEYS_PER_DOC) fail(ErrorCodes.BadValue, `too many index keys for index ${this.name}`);
        }
      }
      combos = next;
      result.push(combos);
    }
    result.order = this.paths.map((_, i) => {
      const next = this.paths[i + 1];
      return next ? orderKey(doc, next) : NO_KEY;
    });
    result.root = this.root ? rootKey(doc, this.paths[0]!) : NO_KEY;
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
  checkUnique(ns: string, doc: Doc, entries: IndexEntries | undefined, self?: number): void {
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

  add(slot: number, entries: IndexEntries | undefined): void {
    if (!entries) return;
    for (let i = 0; i < entries.length; i++) {
      const level = this.levels[i]!;
      for (const e of entries[i]!) level.add(hashKey(e.key), slot, e.nullish ? NO_KEY : entries.order[i]!);
    }
    this.rootAdd(slot, entries.root);
  }

  remove(slot: number, entries: IndexEntries | undefined): void {
    if (!entries) return;
    for (let i = 0; i < entries.length; i++) {
      const level = this.levels[i]!;
      for (const e of entries[i]!) level.remove(hashKey(e.key), slot, e.nullish ? NO_KEY : entries.order[i]!);
    }
    this.rootRemove(slot, entries.root);
  }

  private rootAdd(slot: number, key: RootKey): void {
    if (!this.root) return;
    if (key === MULTIKEY) {
      this.root = null;
      return;
    }
    if (key.kind !== DATES) return;
    this.root.add(slot, key);
    if (this.root.kind !== DATES) this.root = null;
  }

  private rootRemove(slot: number, key: RootKey): void {
    if (this.root && key !== MULTIKEY && key.kind === DATES) this.root.remove(slot, key);
  }

  /** The root group, built from every indexed document on its first use (see `root`). */
  private rootGroup(): SlotGroup | null {
    if (this.root !== undefined) return this.root;
    this.root = null;
    if (this.partial) return null;
    const path = this.paths[0]!;
    const slots: number[] = [];
    const keys: number[] = [];
    for (const slot of this.reader.liveSlots()) {
      const k = rootKey(this.reader.peek(slot), path);
      if (k === MULTIKEY) return null;
      if (k.kind !== DATES) continue;
      slots.push(slot);
      keys.push(k.key);
    }
    // Slots come in slot order: sorting by key, then by position, gives (key, slot) order.
    const order = Uint32Array.from(slots.keys()).sort((x, y) => keys[x]! - keys[y]! || x - y);
    const sortedSlots = new Int32Array(order.length);
    const sortedKeys = new Float64Array(order.length);
    order.forEach((j, i) => {
      sortedSlots[i] = slots[j]!;
      sortedKeys[i] = keys[j]!;
    });
    this.root = SlotGroup.sorted(DATES, sortedSlots, sortedKeys, ROOT_MAX_SHIFT);
    return this.root;
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
  update(slot: number, before: IndexEntries | undefined, after: IndexEntries | undefined): void {
    if (!before || !after) {
      this.remove(slot, before);
      this.add(slot, after);
      return;
    }
    if (this.root && (before.root === MULTIKEY || after.root === MULTIKEY || before.root.kind !== after.root.kind || !Object.is(before.root.key, after.root.key))) {
      this.rootRemove(slot, before.root);
      this.rootAdd(slot, after.root);
    }
    for (let i = 0; i < before.length; i++) {
      const a = before[i]!;
      const b = after[i]!;
      const level = this.levels[i]!;
      const ka = before.order[i]!;
      const kb = after.order[i]!;
      if (a.length === b.length && a.every((e, j) => e.key === b[j]!.key)) {
        if (ka.kind !== kb.kind || !Object.is(ka.key, kb.key)) for (const e of a) if (!e.nullish) level.rekey(hashKey(e.key), slot, ka, kb);
        continue;
      }
      for (const e of a) level.remove(hashKey(e.key), slot, e.nullish ? NO_KEY : ka);
      for (const e of b) level.add(hashKey(e.key), slot, e.nullish ? NO_KEY : kb);
    }
  }

  /** Whether `doc` holds one of these keys (see `holds`). */
  holdsAny(doc: Doc, keyLists: readonly string[][]): boolean {
    for (const keys of keyLists) if (this.holds(doc, keys)) return true;
    return false;
  }

  /** Slots that may hold one of these keys (prefixes of one length), in slot order, each once. */
  candidateSlots(keyLists: readonly string[][]): number[] {
    const out: number[] = [];
    for (const keys of keyLists) {
      const holders = this.candidates(keys);
      if (typeof holders === 'number') out.push(holders);
      else if (holders) for (const s of holders) out.push(s);
    }
    if (keyLists.length < 2) return out;
    out.sort((x, y) => x - y);
    return out.filter((s, i) => i === 0 || out[i - 1] !== s);
  }

  /**
   * The slots that may hold `keys` (a prefix of the fields, as key strings; a superset: check with
   * `holdsAny`) whose key on the next field is within the bounds, in (key, slot) order, with their
   * keys; undefined when the holders of that prefix are not all ordered by keys of kind `kind` (any
   * one kind when UNORDERED is asked). An empty run has the kind asked.
   */
  orderedRange(keys: string[], kind: typeof UNORDERED | OrderKind, lo: number, loIncl: boolean, hi: number, hiIncl: boolean): OrderedRun | undefined {
    if (keys.length === 0) {
      // The root holds only the documents with a date there: it answers date ranges alone (a
      // document with anything else never meets one), not a whole-index order.
      if (kind !== DATES) return undefined;
      return this.rootGroup()?.range(lo, loIncl, hi, hiIncl);
    }
    const level = this.levels[keys.length - 1];
    if (!level?.keyOf) return undefined;
    const holders = level.holders(hashKey(keys.join('|')));
    if (holders === undefined) return { kind, slots: new Int32Array(0), keys: new Float64Array(0) };
    if (typeof holders === 'number') {
      const k = level.keyOf(holders);
      if (k.kind === UNORDERED || (kind !== UNORDERED && k.kind !== kind)) return undefined;
      const inside = (loIncl ? k.key >= lo : k.key > lo) && (hiIncl ? k.key <= hi : k.key < hi);
      return inside ? { kind: k.kind, slots: Int32Array.of(holders), keys: Float64Array.of(k.key) } : { kind: k.kind, slots: new Int32Array(0), keys: new Float64Array(0) };
    }
    if (holders.kind === UNORDERED || (kind !== UNORDERED && holders.kind !== kind)) return undefined;
    return holders.range(lo, loIncl, hi, hiIncl);
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
