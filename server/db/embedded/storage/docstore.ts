/**
 * The documents of one collection in a compact form: each document is its BSON bytes in large
 * append-only slab buffers (outside the JS heap), found through a slot number. A slot has a few
 * numbers in typed arrays (slab, offset, length, version, hash of its `_id` key), and an open
 * addressing table over slot numbers finds a slot by `_id`. Nothing per document is a JS object
 * unless it is being used:
 *
 * - reading decodes the bytes (`peek`); `read` also keeps the decoded document in a bounded cache of
 *   hot documents (`_id` lookups: the documents read on every request stay decoded);
 * - a replaced document's new version stays only in the cache, as the object the update built
 *   (it shares the untouched sub-trees of the old one, so a small change to a large document costs
 *   no encoding); it is encoded when the cache lets it go, or when a snapshot wants its bytes;
 * - the bytes of replaced and deleted versions are garbage in their slab; once there is enough of it,
 *   the live documents of mostly-dead slabs are copied into the current slab and those slabs dropped.
 *
 * Decoded documents are never mutated (copy-on-write, as before): a cursor keeps the documents it
 * was given, whatever happens to the collection later. Each decoded or stored object carries the
 * version of its slot it was made from, so a write can tell whether the document it holds is still
 * the current version (`currentSlot`).
 *
 * Slots are numbered in insertion order and never reused, so a scan returns documents in insertion
 * order (a replacement keeps its place), as WiredTiger's record ids do.
 */
import { deserialize, serialize, serializeWithBufferAndIndex } from 'bson';
import { fromWire, keyString, makeDouble, type Doc } from '../values.js';
import { noteChurn } from './memory.js';

const SLAB_BYTES = 4 * 1024 * 1024;
/** A document at least this large gets a slab of its own. */
const LARGE_DOC = SLAB_BYTES / 4;
/** Slab marker of a deleted slot. */
const DELETED = -1;
/** Slab marker of a slot whose current version is only the cached object (not encoded yet). */
const DIRTY = -2;
/** Reclaim garbage once this much of the slabs is dead and at least half as much as is live. */
const COMPACT_MIN_DEAD = 16 * 1024 * 1024;

/**
 * Bounds of the cache of decoded documents (per collection): documents and BSON bytes (64 MB: 32
 * hot documents of 1.7 MB each stay decoded; a decoded document takes a few times its BSON size).
 */
export const CACHE_MAX_DOCS = 10_000;
export const CACHE_MAX_BYTES = 64 * 1024 * 1024;

const DECODE = { promoteValues: false, promoteBuffers: false } as const;

/** FNV-1a over the UTF-16 code units of a key string, as a 32-bit signed integer. */
export function hashKey(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

function grow(a: Int32Array<ArrayBuffer>, min: number): Int32Array<ArrayBuffer> {
  if (a.length >= min) return a;
  const next = new Int32Array(Math.max(min, Math.ceil(a.length * 1.5) + 16));
  next.set(a);
  return next;
}

/** The stored bytes of a collection's documents at one moment (`DocStore.capture`). */
export interface EncodedDocs {
  slabs: ReadonlyArray<Buffer | null>;
  slab: Int32Array;
  off: Int32Array;
  len: Int32Array;
  count: number;
}

export class DocStore {
  // Per slot.
  private slab = new Int32Array(64);
  /** Offset in the slab; of a DIRTY slot: the BSON length of the version before it (an estimate of its size). */
  private off = new Int32Array(64);
  /** Version (a write counter, wrapping at 2^32) the slot's current document was written at. */
  private ver = new Int32Array(64);
  private idHash = new Int32Array(64);
  private slots = 0;
  private live = 0;
  private nextVersion = 0;
  private readonly tags = new WeakMap<Doc, number>();

  /** `_id` table: slot + 1, 0 empty, -1 removed. */
  private idTable = new Int32Array(64);
  private idUsed = 0;

  private slabs: Array<Buffer | null> = [];
  private slabUsed: number[] = [];
  private slabLive: number[] = [];
  private freeSlabs: number[] = [];
  private current = -1;
  private liveBytes = 0;
  /** Bytes of the slabs up to their fill mark; minus liveBytes, the garbage. */
  private usedBytes = 0;
  private compactAt = COMPACT_MIN_DEAD;

  /** Decoded hot documents by slot, least recently used first. */
  private readonly cache = new Map<number, Doc>();
  private cacheBytes = 0;

  get size(): number {
    return this.live;
  }

  /** The slot of the document whose `_id` has this key string, or -1. */
  findSlot(id: unknown, key = keyString(id)): number {
    const h = hashKey(key);
    const mask = this.idTable.length - 1;
    for (let i = (Math.imul(h, 0x9e3779b1) >>> 0) & mask; ; i = (i + 1) & mask) {
      const v = this.idTable[i]!;
      if (v === 0) return -1;
      if (v > 0 && this.idHash[v - 1] === h && this.idKeyOf(v - 1) === key) return v - 1;
    }
  }

  /** The slot holding exactly this version of a document (as read from or stored in this store), or -1. */
  currentSlot(doc: Doc): number {
    const tag = this.tags.get(doc);
    if (tag === undefined) return -1;
    const s = this.findSlot(doc._id);
    return s >= 0 && this.ver[s] === tag ? s : -1;
  }

  /**
   * The BSON bytes `doc` was stored as, when it is the current version of its slot and encoded (a
   * view of its slab: slab bytes are never overwritten, so the view stays valid); else undefined.
   */
  storedBytes(doc: Doc): Uint8Array | undefined {
    const s = this.currentSlot(doc);
    if (s < 0 || this.slab[s]! < 0) return undefined;
    const buf = this.slabs[this.slab[s]!]!;
    const o = this.off[s]!;
    return buf.subarray(o, o + buf.readInt32LE(o));
  }

  /** The document of a live slot, kept in the cache of hot documents. */
  read(slot: number): Doc {
    const cached = this.cache.get(slot);
    if (cached) {
      this.cache.delete(slot);
      this.cache.set(slot, cached);
      return cached;
    }
    const doc = this.decode(slot);
    this.cacheSet(slot, doc);
    return doc;
  }

  /** The document of a live slot, without putting it in the cache. */
  peek(slot: number): Doc {
    return this.cache.get(slot) ?? this.decode(slot);
  }

  /**
   * Some top-level fields of a live slot's document (for a read that uses no other field): only
   * their elements are decoded. The result is for reading only (it is not the stored version, so
   * no write accepts it); a document in the cache, or one whose BSON holds an element type not
   * sized here, is returned whole.
   */
  peekFields(slot: number, fields: FieldSelection): Doc {
    const cached = this.cache.get(slot);
    if (cached) return cached;
    const buf = this.slabs[this.slab[slot]!]!;
    const o = this.off[slot]!;
    const end = o + buf.readInt32LE(o) - 1;
    // Scalars of the commonest types are read straight from the bytes (as the full decode reads
    // them: int32 as a number, a double holding an integer as a Double); a document with any other
    // selected element is decoded from a copy of its selected elements alone.
    const out: Doc = {};
    const ranges = fields.scratch;
    let n = 0;
    let bytes = 0;
    let direct = true;
    for (let at = o + 4; at < end; ) {
      const type = buf[at]!;
      let nameEnd = at + 1;
      while (buf[nameEnd] !== 0) nameEnd++;
      const v = nameEnd + 1;
      const size = valueSize(buf, type, v);
      if (size < 0) return this.decode(slot);
      const next = v + size;
      const which = fields.indexOf(buf, at + 1, nameEnd);
      if (which >= 0) {
        ranges[n++] = at;
        ranges[n++] = next;
        bytes += next - at;
        if (direct) {
          const name = fields.names[which]!;
          switch (type) {
            case 0x02: out[name] = buf.toString('utf8', v + 4, next - 1); break;
            case 0x10: out[name] = buf.readInt32LE(v); break;
            case 0x01: out[name] = makeDouble(buf.readDoubleLE(v)); break;
            case 0x09: out[name] = new Date(Number(buf.readBigInt64LE(v))); break;
            case 0x08: out[name] = buf[v] === 1; break;
            case 0x0a: out[name] = null; break;
            default: direct = false;
          }
        }
      }
      at = next;
    }
    if (direct) return out;
    const copy = Buffer.allocUnsafe(4 + bytes + 1);
    copy.writeInt32LE(copy.length, 0);
    let w = 4;
    for (let i = 0; i < n; i += 2) w += buf.copy(copy, w, ranges[i]!, ranges[i + 1]!);
    copy[w] = 0;
    return fromWire(deserialize(copy, DECODE)) as Doc;
  }

  /** Stores a new document (its `_id` must not be stored yet; `bytes`: its BSON when already encoded); returns its slot. */
  insert(doc: Doc, idKey = keyString(doc._id), bytes?: Uint8Array): number {
    const s = this.slots;
    this.ensureSlots(s + 1);
    this.slots++;
    this.live++;
    this.ver[s] = this.nextVersion = (this.nextVersion + 1) | 0;
    this.tags.set(doc, this.ver[s]!);
    this.idHash[s] = hashKey(idKey);
    this.encode(s, doc, bytes);
    this.idInsert(s);
    return s;
  }

  /** Makes `next` the current version of a live slot (same `_id`). */
  replace(slot: number, next: Doc): void {
    this.cacheDelete(slot);
    this.release(slot);
    this.slab[slot] = DIRTY;
    this.ver[slot] = this.nextVersion = (this.nextVersion + 1) | 0;
    this.tags.set(next, this.ver[slot]!);
    this.cacheSet(slot, next);
  }

  delete(slot: number): void {
    this.cacheDelete(slot);
    this.release(slot);
    this.slab[slot] = DELETED;
    this.live--;
    const mask = this.idTable.length - 1;
    for (let i = (Math.imul(this.idHash[slot]!, 0x9e3779b1) >>> 0) & mask; ; i = (i + 1) & mask) {
      const v = this.idTable[i]!;
      if (v === 0) return;
      if (v === slot + 1) {
        this.idTable[i] = -1;
        return;
      }
    }
  }

  /** Live slots in insertion order (a snapshot of the numbers: safe to write while iterating). */
  *liveSlots(): IterableIterator<number> {
    const end = this.slots;
    for (let s = 0; s < end; s++) if (this.slab[s] !== DELETED) yield s;
  }

  /** Every document in insertion order, decoded one at a time (the cache is left as it is). */
  *docs(): IterableIterator<Doc> {
    for (const s of this.liveSlots()) if (this.slab[s] !== DELETED) yield this.peek(s);
  }

  /** Every document in insertion order with only these top-level fields, for reading (see `peekFields`). */
  *docsWithFields(fields: FieldSelection): IterableIterator<Doc> {
    for (const s of this.liveSlots()) if (this.slab[s] !== DELETED) yield this.peekFields(s, fields);
  }

  /**
   * Where the BSON bytes of every live document are, in insertion order (a version only cached is
   * encoded first): its slab buffer, offset and length, 12 bytes per document. Bytes written to a
   * slab are never overwritten (writes append; a dropped or evacuated slab is let go, not reused),
   * so this stays valid whatever the store does later: a snapshot cut synchronously can be written
   * afterwards without a copy of the state.
   */
  capture(): EncodedDocs {
    const slab = new Int32Array(this.live);
    const off = new Int32Array(this.live);
    const len = new Int32Array(this.live);
    let n = 0;
    for (const s of this.liveSlots()) {
      if (this.slab[s] === DIRTY) {
        const doc = this.cache.get(s)!;
        this.cacheBytes -= this.bytesOf(s);
        this.encode(s, doc);
        this.cacheBytes += this.bytesOf(s);
      }
      slab[n] = this.slab[s]!;
      off[n] = this.off[s]!;
      len[n++] = this.bytesOf(s);
    }
    return { slabs: this.slabs.slice(), slab, off, len, count: n };
  }

  /** Memory held, for diagnostics and tests. */
  stats(): { slots: number; live: number; slabs: number; slabBytes: number; liveBytes: number; deadBytes: number; cached: number } {
    let slabBytes = 0;
    for (const b of this.slabs) slabBytes += b?.length ?? 0;
    return { slots: this.slots, live: this.live, slabs: this.slabs.filter(Boolean).length, slabBytes, liveBytes: this.liveBytes, deadBytes: this.usedBytes - this.liveBytes, cached: this.cache.size };
  }

  // ---- internals -----------------------------------------------------------------------------

  /** BSON length of the slot's encoded version (of a DIRTY slot: of the version before it). */
  private bytesOf(slot: number): number {
    const index = this.slab[slot]!;
    return index >= 0 ? this.slabs[index]!.readInt32LE(this.off[slot]!) : this.off[slot]!;
  }

  private decode(slot: number): Doc {
    const buf = this.slabs[this.slab[slot]!]!;
    const o = this.off[slot]!;
    const doc = fromWire(deserialize(buf.subarray(o, o + buf.readInt32LE(o)), DECODE)) as Doc;
    this.tags.set(doc, this.ver[slot]!);
    return doc;
  }

  /** The `_id` key string of a live slot, decoding only the `_id` element when it comes first. */
  private idKeyOf(slot: number): string {
    const cached = this.cache.get(slot);
    if (cached) return keyString(cached._id);
    const buf = this.slabs[this.slab[slot]!]!;
    const o = this.off[slot]!;
    const end = o + buf.readInt32LE(o);
    // The element: type byte, "_id\0", value. Decoded alone as a one-field document.
    if (buf[o + 5] === 0x5f && buf[o + 6] === 0x69 && buf[o + 7] === 0x64 && buf[o + 8] === 0) {
      const type = buf[o + 4];
      if (type === 0x02) return keyString(buf.toString('utf8', o + 13, o + 13 + buf.readInt32LE(o + 9) - 1));
      if (type === 0x10) return keyString(buf.readInt32LE(o + 9));
      if (type === 0x01) return keyString(buf.readDoubleLE(o + 9));
      const size = valueSize(buf, type!, o + 9);
      if (size >= 0 && o + 9 + size < end) {
        const one = Buffer.allocUnsafe(4 + 5 + size + 1);
        one.writeInt32LE(one.length, 0);
        buf.copy(one, 4, o + 4, o + 9 + size);
        one[one.length - 1] = 0;
        return keyString(fromWire((deserialize(one, DECODE) as Doc)._id));
      }
    }
    return keyString(this.decode(slot)._id);
  }

  private ensureSlots(n: number): void {
    if (this.slab.length >= n) return;
    this.slab = grow(this.slab, n);
    this.off = grow(this.off, n);
    this.ver = grow(this.ver, n);
    this.idHash = grow(this.idHash, n);
  }

  private idInsert(slot: number): void {
    if ((this.idUsed + 1) * 10 > this.idTable.length * 7) this.rehashIds();
    const mask = this.idTable.length - 1;
    for (let i = (Math.imul(this.idHash[slot]!, 0x9e3779b1) >>> 0) & mask; ; i = (i + 1) & mask) {
      const v = this.idTable[i]!;
      if (v === 0) {
        this.idTable[i] = slot + 1;
        this.idUsed++;
        return;
      }
    }
  }

  private rehashIds(): void {
    let cap = 64;
    while (cap * 2 < (this.live + 1) * 3) cap *= 2;
    this.idTable = new Int32Array(cap);
    this.idUsed = 0;
    for (const s of this.liveSlots()) this.idInsert(s);
  }

  /** Encodes `doc` (unless its BSON `encoded` is given) as the current version of `slot` into the current slab. */
  private encode(slot: number, doc: Doc, encoded?: Uint8Array): void {
    const bytes = encoded ?? encodeScratch(doc);
    noteChurn(bytes.length * 4);
    const [index, offset] = this.allocate(bytes.length);
    this.slabs[index]!.set(bytes, offset);
    this.slab[slot] = index;
    this.off[slot] = offset;
    this.slabLive[index]! += bytes.length;
    this.liveBytes += bytes.length;
  }

  private allocate(n: number): [number, number] {
    if (n >= LARGE_DOC) {
      const index = this.newSlab(n);
      this.slabUsed[index] = n;
      this.usedBytes += n;
      return [index, 0];
    }
    if (this.current < 0 || this.slabUsed[this.current]! + n > SLAB_BYTES) this.current = this.newSlab(SLAB_BYTES);
    const offset = this.slabUsed[this.current]!;
    this.slabUsed[this.current] = offset + n;
    this.usedBytes += n;
    return [this.current, offset];
  }

  private newSlab(bytes: number): number {
    const index = this.freeSlabs.pop() ?? this.slabs.length;
    this.slabs[index] = Buffer.allocUnsafeSlow(bytes);
    this.slabUsed[index] = 0;
    this.slabLive[index] = 0;
    return index;
  }

  /** The bytes of the slot's current version become garbage (the slot is left DIRTY: the caller marks it). */
  private release(slot: number): void {
    const index = this.slab[slot]!;
    if (index < 0) return;
    const n = this.bytesOf(slot);
    this.slab[slot] = DIRTY;
    this.off[slot] = n;
    this.slabLive[index]! -= n;
    this.liveBytes -= n;
    if (this.slabLive[index] === 0 && index !== this.current) this.dropSlab(index);
    else if (this.usedBytes - this.liveBytes > this.compactAt) this.compact();
  }

  private dropSlab(index: number): void {
    this.usedBytes -= this.slabUsed[index]!;
    this.slabs[index] = null;
    this.slabUsed[index] = 0;
    this.slabLive[index] = 0;
    this.freeSlabs.push(index);
  }

  /** Copies the live documents of the slabs that are more than half garbage into the current slab and drops those slabs. */
  private compact(): void {
    const evacuate = new Set<number>();
    for (let i = 0; i < this.slabs.length; i++) {
      if (this.slabs[i] && i !== this.current && this.slabLive[i]! * 2 < this.slabUsed[i]!) evacuate.add(i);
    }
    for (let s = 0; s < this.slots; s++) {
      const from = this.slab[s]!;
      if (!evacuate.has(from)) continue;
      const n = this.bytesOf(s);
      const [index, offset] = this.allocate(n);
      this.slabs[from]!.copy(this.slabs[index]!, offset, this.off[s]!, this.off[s]! + n);
      this.slab[s] = index;
      this.off[s] = offset;
      this.slabLive[index]! += n;
    }
    for (const i of evacuate) this.dropSlab(i);
    // Garbage spread over slabs that are still mostly live stays until more has accumulated.
    this.compactAt = this.usedBytes - this.liveBytes + Math.max(COMPACT_MIN_DEAD, this.liveBytes / 2);
  }

  private cacheSet(slot: number, doc: Doc): void {
    this.cache.set(slot, doc);
    this.cacheBytes += this.bytesOf(slot);
    while (this.cache.size > CACHE_MAX_DOCS || (this.cacheBytes > CACHE_MAX_BYTES && this.cache.size > 1)) {
      const [oldest, d] = this.cache.entries().next().value as [number, Doc];
      this.cacheDelete(oldest);
      if (this.slab[oldest] === DIRTY) this.encode(oldest, d);
    }
  }

  private cacheDelete(slot: number): void {
    if (this.cache.delete(slot)) this.cacheBytes -= this.bytesOf(slot);
  }
}

/** Reused for encoding documents (no allocation per document); larger ones get a buffer of their own. */
const scratch = Buffer.allocUnsafeSlow(1024 * 1024);

/** The BSON bytes of `doc`: a view of the scratch buffer (valid until the next call) or a buffer of its own. */
function encodeScratch(doc: Doc): Uint8Array {
  try {
    return scratch.subarray(0, serializeWithBufferAndIndex(doc, scratch) + 1);
  } catch {
    return serialize(doc);
  }
}

/** Size in bytes of a BSON value of type `type` starting at `at`, or -1 for the types not worth it here. */
/** Top-level field names a read uses, matched against BSON element names without decoding them. */
export class FieldSelection {
  readonly names: string[];
  private readonly bytes: Buffer[];
  /** Element ranges of the document being read (two numbers per element). */
  readonly scratch: number[] = [];

  constructor(readonly fields: ReadonlySet<string>) {
    if (fields.has('__proto__')) throw new Error('a field selection cannot hold __proto__');
    this.names = [...fields];
    this.bytes = this.names.map((f) => Buffer.from(f, 'utf8'));
  }

  /** Which of the fields the element name in buf[start, end) is, or -1. */
  indexOf(buf: Buffer, start: number, end: number): number {
    const len = end - start;
    for (let k = 0; k < this.bytes.length; k++) {
      const name = this.bytes[k]!;
      if (name.length !== len) continue;
      let i = 0;
      while (i < len && name[i] === buf[start + i]) i++;
      if (i === len) return k;
    }
    return -1;
  }
}

function valueSize(buf: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // date
    case 0x11: // timestamp
    case 0x12: // int64
      return 8;
    case 0x10: // int32
      return 4;
    case 0x13: // decimal128
      return 16;
    case 0x07: // ObjectId
      return 12;
    case 0x08: // bool
      return 1;
    case 0x0a: // null
    case 0xff: // MinKey
    case 0x7f: // MaxKey
      return 0;
    case 0x02: // string
    case 0x0e: // symbol
      return 4 + buf.readInt32LE(at);
    case 0x03: // document
    case 0x04: // array
      return buf.readInt32LE(at);
    case 0x05: // binary
      return 4 + 1 + buf.readInt32LE(at);
    default:
      return -1;
  }
}
