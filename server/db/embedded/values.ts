/**
 * BSON value helpers: the in-memory value representation, type-exact cloning,
 * BSON ordering, canonical key strings (for indexes and caches) and the numeric
 * "query view" handed to mingo.
 *
 * Representation of stored values (chosen so that mingo can work on plain JS values
 * while every BSON type still round-trips exactly):
 * - Int32 → JS number (an integer inside the int32 range).
 * - Double → JS number, except an integral value inside the int32 range, which stays a
 *   `bson.Double` wrapper (a plain number there would be re-encoded as Int32).
 * - Int64 → `bson.Long`; Decimal128 → `bson.Decimal128`; everything else as the `bson`
 *   package decodes it (ObjectId, Binary, Date, Timestamp, RegExp, MinKey, ...).
 */
import { Binary, Decimal128, Double, Long, UUID } from 'bson';

export type Doc = Record<string, unknown>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export function bsonType(v: unknown): string | undefined {
  return v !== null && typeof v === 'object' ? (v as { _bsontype?: string })._bsontype : undefined;
}

export function isPlainObject(v: unknown): v is Doc {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

export function isInt32Number(n: number): boolean {
  return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX && !Object.is(n, -0);
}

/** A double-typed value in the stored representation. */
export function makeDouble(n: number): unknown {
  return isInt32Number(n) ? new Double(n) : n;
}

export type NumKind = 'int' | 'long' | 'double' | 'decimal';

/** Numeric kind of a stored value, or undefined when it is not a number. */
export function numKind(v: unknown): NumKind | undefined {
  if (typeof v === 'number') return isInt32Number(v) ? 'int' : 'double';
  switch (bsonType(v)) {
    case 'Long':
      return 'long';
    case 'Double':
      return 'double';
    case 'Int32':
      return 'int';
    case 'Decimal128':
      return 'decimal';
    default:
      return undefined;
  }
}

export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  switch (bsonType(v)) {
    case 'Long':
      return (v as Long).toNumber();
    case 'Double':
    case 'Int32':
      return (v as Double).value;
    case 'Decimal128':
      return Number((v as Decimal128).toString());
    default:
      return Number.NaN;
  }
}

/**
 * A decoded Binary is a view of the bytes it was decoded from (a wire message, a data file read at
 * start-up, a slab): kept, it would keep all of them alive (the collection's uuid kept the whole
 * snapshot file, hundreds of MB, #23). Such a view is replaced by a copy of its own bytes.
 */
function detachBinary(b: Binary): Binary {
  const bytes = b.buffer;
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return b;
  const own = new Uint8Array(bytes.subarray(0, b.position));
  return b instanceof UUID ? new UUID(own) : new Binary(own, b.sub_type);
}

/**
 * Converts a freshly decoded (promoteValues: false) value into the stored representation, in place
 * where possible. Returns the converted value.
 */
export function fromWire(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fromWire(v[i]);
    return v;
  }
  const t = (v as { _bsontype?: string })._bsontype;
  if (t !== undefined) {
    if (t === 'Int32') return (v as { value: number }).value;
    if (t === 'Binary') return detachBinary(v as Binary);
    if (t === 'Double') {
      const n = (v as Double).value;
      return isInt32Number(n) ? v : n;
    }
    return v;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) v[k] = fromWire(v[k]);
  }
  return v;
}

/** Deep copy of plain objects and arrays; BSON wrappers and Dates are immutable here and shared. */
export function cloneValue<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneValue) as T;
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const k of Object.keys(v)) out[k] = cloneValue(v[k]);
    return out as T;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Query view: numeric wrappers as JS numbers, so mingo compares and computes them correctly.

function needsView(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(needsView);
  const t = (v as { _bsontype?: string })._bsontype;
  if (t !== undefined) return t === 'Long' || t === 'Double' || t === 'Int32' || t === 'Decimal128';
  if (isPlainObject(v)) {
    for (const k in v) if (needsView(v[k])) return true;
  }
  return false;
}

function convertView(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(convertView);
  const t = (v as { _bsontype?: string })._bsontype;
  if (t !== undefined) {
    if (t === 'Long' || t === 'Double' || t === 'Int32' || t === 'Decimal128') return toNumber(v);
    return v;
  }
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const k of Object.keys(v)) out[k] = convertView(v[k]);
    return out;
  }
  return v;
}

/**
 * The query view of a value read for one use (a partial read of a document: see
 * DocStore.peekFields), not cached: the value itself when it holds no numeric wrapper.
 */
export function transientView<T>(v: T): T {
  if (!needsView(v)) return v;
  const view = convertView(v) as T;
  rawOfView.set(view as object, v);
  return view;
}

/** How to take the query views of documents read whole (cached) or partially, for one call (not cached). */
export function viewOf(partial: boolean): <T>(v: T) => T {
  return partial ? transientView : queryView;
}

const viewCache = new WeakMap<object, unknown>();
const rawOfView = new WeakMap<object, unknown>();
const NO_VIEW = Symbol('no-view');

/**
 * The value as mingo should see it (numeric wrappers → numbers). Stored documents are
 * immutable, so the view is computed once per document and cached.
 */
export function queryView<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  const cached = viewCache.get(v);
  if (cached !== undefined) return (cached === NO_VIEW ? v : cached) as T;
  const view = needsView(v) ? convertView(v) : NO_VIEW;
  viewCache.set(v, view);
  if (view !== NO_VIEW) rawOfView.set(view as object, v);
  return (view === NO_VIEW ? v : view) as T;
}

/**
 * Caches the query view of `next`, a new version of the stored document `prev` that shares its
 * unchanged sub-trees (see `applyUpdate`), reusing `prev`'s cached view of every shared sub-tree:
 * only the objects and arrays on the changed paths are converted, so the view of a large document
 * after a small change costs in proportion to the change (plus one pass over the arrays on those
 * paths). Does nothing when `prev` has no cached view (then `queryView(next)` computes one when
 * it is first needed).
 */
export function inheritQueryView(prev: Doc, next: Doc): void {
  const cached = viewCache.get(prev);
  if (cached === undefined || viewCache.has(next)) return;
  const view = deriveView(prev, cached === NO_VIEW ? prev : cached, next);
  viewCache.set(next, view === next ? NO_VIEW : view);
  if (view !== next) rawOfView.set(view as object, next);
}

/** The view of `next` given the value `prev` at the same path and `prevView`, the view of `prev`. */
function deriveView(prev: unknown, prevView: unknown, next: unknown): unknown {
  if (next === prev) return prevView;
  if (Array.isArray(next) && Array.isArray(prev) && Array.isArray(prevView)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < next.length; i++) {
      const el = next[i];
      const v = i >= prev.length ? toQueryValue(el) : el === prev[i] ? prevView[i] : deriveView(prev[i], prevView[i], el);
      if (out) out.push(v);
      else if (v !== el) {
        out = next.slice(0, i);
        out.push(v);
      }
    }
    return out ?? next;
  }
  if (isPlainObject(next) && isPlainObject(prev) && isPlainObject(prevView)) {
    let out: Doc | undefined;
    const keys = Object.keys(next);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const el = next[k];
      const v = Object.prototype.hasOwnProperty.call(prev, k) ? deriveView(prev[k], prevView[k], el) : toQueryValue(el);
      if (out) out[k] = v;
      else if (v !== el) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = next[keys[j]!];
        out[k] = v;
      }
    }
    return out ?? next;
  }
  return toQueryValue(next);
}

/** The stored document a cached query view was made from (or the value itself). */
export function rawOf<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  return (rawOfView.get(v) as T | undefined) ?? v;
}

/**
 * Restores the stored numeric types of values that went through a query view (mingo computes with
 * plain numbers): where the old value at the same path was an Int64 / integral Double / Decimal128
 * and the new value is a number, the new value gets the old type. With `onlyIfEqual`, only values
 * that are numerically unchanged are restored (used for aggregation output).
 */
export function restoreTypes(oldValue: unknown, newValue: unknown, onlyIfEqual = false): unknown {
  if (typeof newValue === 'number') {
    const k = numKind(oldValue);
    if (k === undefined || k === 'int' || typeof oldValue === 'number') return newValue;
    if (onlyIfEqual && toNumber(oldValue) !== newValue) return newValue;
    if (k === 'long' && Number.isSafeInteger(newValue)) {
      return toNumber(oldValue) === newValue ? oldValue : Long.fromNumber(newValue);
    }
    if (k === 'double') return makeDouble(newValue);
    if (k === 'decimal') return toNumber(oldValue) === newValue ? oldValue : Decimal128.fromString(String(newValue));
    return newValue;
  }
  if (isPlainObject(newValue) && isPlainObject(oldValue)) {
    for (const key of Object.keys(newValue)) {
      if (key in oldValue) newValue[key] = restoreTypes(oldValue[key], newValue[key], onlyIfEqual);
    }
  } else if (Array.isArray(newValue) && Array.isArray(oldValue) && newValue.length === oldValue.length) {
    for (let i = 0; i < newValue.length; i++) newValue[i] = restoreTypes(oldValue[i], newValue[i], onlyIfEqual);
  }
  return newValue;
}

/** Uncached view conversion for transient values (filters, expressions). */
export function toQueryValue<T>(v: T): T {
  return (needsView(v) ? convertView(v) : v) as T;
}

// ---------------------------------------------------------------------------------------------
// BSON ordering (as used by sort, $min/$max and index key comparison).

function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 2;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 3;
    case 'string':
      return 4;
    case 'boolean':
      return 9;
    case 'object':
      break;
    default:
      return 14;
  }
  if (Array.isArray(v)) return 6;
  if (v instanceof Date) return 10;
  if (v instanceof RegExp) return 12;
  switch ((v as { _bsontype?: string })._bsontype) {
    case undefined:
      return 5;
    case 'MinKey':
      return 1;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return 3;
    case 'BSONSymbol':
      return 4;
    case 'Binary':
      return 7;
    case 'ObjectId':
      return 8;
    case 'Timestamp':
      return 11;
    case 'BSONRegExp':
      return 12;
    case 'MaxKey':
      return 15;
    case 'DBRef':
      return 5;
    default:
      return 13;
  }
}

function cmpPrim<T extends string | number | boolean>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: unknown, b: unknown): number {
  if (bsonType(a) === 'Long' && bsonType(b) === 'Long') return (a as Long).compare(b as Long);
  const x = toNumber(a);
  const y = toNumber(b);
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  return cmpPrim(x, y);
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 2:
    case 1:
    case 15:
      return 0;
    case 3:
      return compareNumbers(a, b);
    case 4:
      return cmpPrim(String(a), String(b));
    case 9:
      return cmpPrim(a as boolean, b as boolean);
    case 10:
      return cmpPrim((a as Date).getTime(), (b as Date).getTime());
    case 6: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xa[i], xb[i]);
        if (c !== 0) return c;
      }
      return cmpPrim(xa.length, xb.length);
    }
    case 5: {
      const ka = Object.keys(a as Doc);
      const kb = Object.keys(b as Doc);
      const n = Math.min(ka.length, kb.length);
      for (let i = 0; i < n; i++) {
        const va = (a as Doc)[ka[i]!];
        const vb = (b as Doc)[kb[i]!];
        const t = cmpPrim(typeRank(va), typeRank(vb));
        if (t !== 0) return t;
        const k = cmpPrim(ka[i]!, kb[i]!);
        if (k !== 0) return k;
        const c = compareValues(va, vb);
        if (c !== 0) return c;
      }
      return cmpPrim(ka.length, kb.length);
    }
    case 7: {
      const ba = (a as { buffer: Uint8Array; sub_type: number });
      const bb = (b as { buffer: Uint8Array; sub_type: number });
      if (ba.buffer.length !== bb.buffer.length) return cmpPrim(ba.buffer.length, bb.buffer.length);
      if (ba.sub_type !== bb.sub_type) return cmpPrim(ba.sub_type, bb.sub_type);
      return Buffer.compare(ba.buffer, bb.buffer);
    }
    case 8:
      return cmpPrim(String((a as { toHexString(): string }).toHexString()), (b as { toHexString(): string }).toHexString());
    case 11:
      return (a as Long).compare(b as Long);
    case 12:
      return cmpPrim(String(a), String(b));
    default:
      return cmpPrim(String(a), String(b));
  }
}

/** Type-exact deep equality (Int32 5 and Double 5 differ), used to detect no-op updates. */
export function exactEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !exactEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ta = bsonType(a);
  if (ta !== bsonType(b)) return false;
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i]) return false;
      if (!exactEqual(a[ka[i]!], b[kb[i]!])) return false;
    }
    return true;
  }
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  return keyString(a) === keyString(b);
}

// ---------------------------------------------------------------------------------------------
// Canonical key strings: equal under MongoDB equality ⇔ equal strings (numbers compare by value).

export function keyString(v: unknown): string {
  if (v === undefined || v === null) return 'N';
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? 'n0' : 'n' + v;
    case 'string':
      return 's' + JSON.stringify(v);
    case 'boolean':
      return v ? 'T' : 'F';
    case 'bigint':
      return Number.isSafeInteger(Number(v)) ? 'n' + Number(v) : 'n' + v.toString();
    case 'object':
      break;
    default:
      return 'x' + String(v);
  }
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + keyString(v[i]);
    return s + ']';
  }
  if (v instanceof Date) return 'd' + v.getTime();
  if (v instanceof RegExp) return 'r' + JSON.stringify(v.source) + v.flags;
  const t = (v as { _bsontype?: string })._bsontype;
  if (t === undefined) {
    let s = '{';
    let first = true;
    for (const k of Object.keys(v)) {
      s += (first ? '' : ',') + JSON.stringify(k) + ':' + keyString((v as Doc)[k]);
      first = false;
    }
    return s + '}';
  }
  switch (t) {
    case 'ObjectId':
      return 'o' + (v as { toHexString(): string }).toHexString();
    case 'Long': {
      const l = v as Long;
      const n = l.toNumber();
      return Number.isSafeInteger(n) ? 'n' + n : 'n' + l.toString();
    }
    case 'Double':
    case 'Int32':
    case 'Decimal128': {
      const n = toNumber(v);
      return Object.is(n, -0) ? 'n0' : 'n' + n;
    }
    case 'Binary': {
      const b = v as { buffer: Uint8Array; sub_type: number };
      return 'b' + b.sub_type + ':' + Buffer.from(b.buffer.buffer, b.buffer.byteOffset, b.buffer.byteLength).toString('base64');
    }
    case 'Timestamp':
      return 't' + (v as Long).toString();
    case 'MinKey':
      return 'm';
    case 'MaxKey':
      return 'M';
    case 'DBRef': {
      const r = v as { collection: string; oid: unknown; db?: string };
      return 'D' + JSON.stringify(r.collection) + keyString(r.oid) + (r.db ?? '');
    }
    default:
      return 'x' + t + JSON.stringify(String(v));
  }
}

/** Renders a value in the mongod log style used by E11000 messages: `{ email: "a@b.c" }`. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[ ' + v.map(formatValue).join(', ') + ' ]';
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  switch (bsonType(v)) {
    case 'ObjectId':
      return `ObjectId('${(v as { toHexString(): string }).toHexString()}')`;
    case 'Long':
      return String(v);
    case 'Double':
    case 'Int32':
      return String(toNumber(v));
    case 'Decimal128':
      return `Decimal128("${String(v)}")`;
    case undefined:
      if (isPlainObject(v)) {
        const entries = Object.keys(v).map((k) => `${k}: ${formatValue(v[k])}`);
        return entries.length ? `{ ${entries.join(', ')} }` : '{}';
      }
      return String(v);
    default:
      return String(v);
  }
}

/** MongoDB's name for the BSON type of a stored value ('missing' when undefined). */
export function typeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (v instanceof RegExp) return 'regex';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return numKind(v) === 'int' ? 'int' : 'double';
  }
  const t = bsonType(v);
  if (!t) return 'object';
  return { Long: 'long', Double: 'double', Decimal128: 'decimal', ObjectId: 'objectId', Binary: 'binData', Timestamp: 'timestamp' }[t] ?? t.toLowerCase();
}

export { Decimal128, Double, Long };

