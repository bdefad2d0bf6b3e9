/**
 * On-disk format of the journal and of snapshots.
 *
 * Format v2 (written since the durability rework):
 *
 *   file   = header record*
 *   header = [4 bytes magic: "EMJ2" journal | "EMS2" snapshot][u32 version = 2][u32 generation]
 *            [u32 crc32 of the 12 bytes before]                                      (16 bytes)
 *   record = [u32 payload length][u32 crc32(length bytes)][u32 crc32(payload)][payload: BSON]
 *
 * The length has its own checksum, so a damaged length is detected as such instead of being taken
 * for a record that runs past the end of the file (a torn write).
 *
 * Format v1 (read only, for data directories written before): no file header, records are
 * `[u32 payload length][u32 crc32(payload)][payload]`.
 *
 * Readers classify what they cannot read: a *torn tail* (an incomplete final record or all-zero
 * bytes at the very end: what a crash in the middle of an append leaves) or *corruption*
 * (anything else), see `readRecordAt`.
 */
import { crc32 } from 'node:zlib';
import { calculateObjectSize, deserialize, serialize, serializeWithBufferAndIndex } from 'bson';
import { fromWire, type Doc } from '../values.js';

export const FORMAT_VERSION = 2;
export const FILE_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 12;
const V1_RECORD_HEADER_BYTES = 8;
export const MAX_RECORD = 64 * 1024 * 1024;

export type FileKind = 'journal' | 'snapshot';
const MAGIC: Record<FileKind, Buffer> = {
  journal: Buffer.from('EMJ2', 'latin1'),
  snapshot: Buffer.from('EMS2', 'latin1'),
};

/** A data file that cannot be read as written: start-up refuses it (see `--repair`). */
export class CorruptDataError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`data file ${file} is damaged at byte offset ${offset}: ${reason}`);
    this.name = 'CorruptDataError';
  }
}

export function encodeRecord(doc: Doc): Buffer {
  return frameRecord(serialize(doc));
}

/**
 * Writes the record of `doc` into `out` at `at`, byte for byte what `encodeRecord` returns, without
 * a buffer of its own. Returns the offset after it, or -(bytes the record needs) when it does not fit.
 */
export function encodeRecordInto(doc: Doc, out: Buffer, at: number): number {
  const start = at + RECORD_HEADER_BYTES;
  let end: number;
  try {
    end = start > out.length ? -1 : serializeWithBufferAndIndex(doc, out, { index: start }) + 1;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    end = -1;
  }
  if (end < 0) return -(RECORD_HEADER_BYTES + calculateObjectSize(doc));
  const length = end - start;
  out.writeUInt32LE(length, at);
  out.writeUInt32LE(crc32(out.subarray(at, at + 4)), at + 4);
  out.writeUInt32LE(crc32(out.subarray(start, end)), at + 8);
  return end;
}

/** The fields before `doc` of a `put` record of one collection (BSON, without its terminating byte): the same for all its documents. */
export function putRecordHead(db: string, coll: string): Uint8Array {
  const head = serialize({ op: 'put', db, coll });
  return head.subarray(0, head.length - 1);
}

/** Bytes of the record `{ op: 'put', db, coll, doc }` for a head (`putRecordHead`) and the document's BSON bytes. */
export function putRecordBytes(head: Uint8Array, docBytes: Uint8Array): number {
  return RECORD_HEADER_BYTES + head.length + 1 + 4 + docBytes.length + 1;
}

/**
 * Writes the record `{ op: 'put', db, coll, doc }` into `out` at `at` with the document given as its
 * BSON bytes (copied as they are: a snapshot of stored documents needs no encoding), byte for byte
 * what `encodeRecord` writes for the decoded document. Returns the offset after it.
 */
export function writePutRecord(out: Buffer, at: number, head: Uint8Array, docBytes: Uint8Array): number {
  const start = at + RECORD_HEADER_BYTES;
  const length = head.length + 1 + 4 + docBytes.length + 1;
  out.set(head, start);
  out.writeInt32LE(length, start);
  let p = start + head.length;
  out[p++] = 0x03;
  out.write('doc\0', p, 'latin1');
  p += 4;
  out.set(docBytes, p);
  out[start + length - 1] = 0;
  out.writeUInt32LE(length, at);
  out.writeUInt32LE(crc32(out.subarray(at, at + 4)), at + 4);
  out.writeUInt32LE(crc32(out.subarray(start, start + length)), at + 8);
  return start + length;
}

/** `writePutRecord` into a buffer of its own. */
export function encodePutRecord(db: string, coll: string, docBytes: Uint8Array): Buffer {
  const head = putRecordHead(db, coll);
  const out = Buffer.allocUnsafe(putRecordBytes(head, docBytes));
  writePutRecord(out, 0, head, docBytes);
  return out;
}

function frameRecord(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(out.subarray(0, 4)), 4);
  out.writeUInt32LE(crc32(payload), 8);
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

export function encodeFileHeader(kind: FileKind, gen: number): Buffer {
  const out = Buffer.alloc(FILE_HEADER_BYTES);
  MAGIC[kind].copy(out, 0);
  out.writeUInt32LE(FORMAT_VERSION, 4);
  out.writeUInt32LE(gen, 8);
  out.writeUInt32LE(crc32(out.subarray(0, 12)), 12);
  return out;
}

export type HeaderCheck =
  | { kind: 'v2'; gen: number }
  /** No v2 magic, but the file starts like a v1 record (or is empty). */
  | { kind: 'v1' }
  | { kind: 'bad'; reason: string };

export function checkFileHeader(buf: Buffer, kind: FileKind): HeaderCheck {
  const magic = MAGIC[kind];
  if (buf.length >= 4 && buf.subarray(0, 4).equals(magic)) {
    if (buf.length < FILE_HEADER_BYTES) return { kind: 'bad', reason: `file header incomplete (${buf.length} bytes)` };
    if (crc32(buf.subarray(0, 12)) !== buf.readUInt32LE(12)) return { kind: 'bad', reason: 'file header checksum mismatch' };
    const version = buf.readUInt32LE(4);
    if (version !== FORMAT_VERSION) return { kind: 'bad', reason: `unsupported format version ${version}` };
    return { kind: 'v2', gen: buf.readUInt32LE(8) };
  }
  if (buf.length === 0) return { kind: 'v1' };
  if (buf.length >= 4) {
    const len = buf.readUInt32LE(0);
    if (len >= 5 && len <= MAX_RECORD) return { kind: 'v1' };
  }
  return { kind: 'bad', reason: `no ${kind} header (expected magic "${magic.toString('latin1')}")` };
}

export type RecordAt =
  /** `payload`: the record's BSON bytes (a view of the file's). */
  | { kind: 'ok'; doc: Doc; next: number; payload: Buffer }
  | { kind: 'torn'; reason: string }
  | { kind: 'bad'; reason: string };

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function decode(payload: Buffer): Doc | undefined {
  try {
    return fromWire(deserialize(payload, { promoteValues: false, promoteBuffers: false })) as Doc;
  } catch {
    return undefined;
  }
}

/**
 * Reads the record at `offset`. Torn (may be dropped at start-up): the header is incomplete, the
 * header is valid but the payload runs past the end of the file, or everything from `offset` on
 * is zero. Bad (corruption): anything else that does not check out.
 */
export function readRecordAt(buf: Buffer, offset: number, version: 1 | 2): RecordAt {
  if (version === 1) return readV1At(buf, offset);
  const rest = buf.length - offset;
  if (rest < RECORD_HEADER_BYTES) return { kind: 'torn', reason: `incomplete record header (${rest} bytes)` };
  const len = buf.readUInt32LE(offset);
  if (crc32(buf.subarray(offset, offset + 4)) !== buf.readUInt32LE(offset + 4)) {
    if (allZero(buf, offset)) return { kind: 'torn', reason: `${rest} zero bytes` };
    return { kind: 'bad', reason: 'record header checksum mismatch' };
  }
  if (len < 5 || len > MAX_RECORD) return { kind: 'bad', reason: `implausible record length ${len}` };
  return payloadAt(buf, offset, RECORD_HEADER_BYTES, len, buf.readUInt32LE(offset + 8));
}

function readV1At(buf: Buffer, offset: number): RecordAt {
  const rest = buf.length - offset;
  if (rest < V1_RECORD_HEADER_BYTES) return { kind: 'torn', reason: `incomplete record header (${rest} bytes)` };
  if (allZero(buf, offset)) return { kind: 'torn', reason: `${rest} zero bytes` };
  const len = buf.readUInt32LE(offset);
  if (len < 5 || len > MAX_RECORD) return { kind: 'bad', reason: `implausible record length ${len}` };
  return payloadAt(buf, offset, V1_RECORD_HEADER_BYTES, len, buf.readUInt32LE(offset + 4));
}

/** The payload of a record whose header (of either format) checked out: torn past the end, bad checksum or BSON, or the document. */
function payloadAt(buf: Buffer, offset: number, headerBytes: number, len: number, checksum: number): RecordAt {
  const end = offset + headerBytes + len;
  if (end > buf.length) return { kind: 'torn', reason: `record of ${len} bytes runs past the end of the file` };
  const payload = buf.subarray(offset + headerBytes, end);
  if (crc32(payload) !== checksum) return { kind: 'bad', reason: 'record payload checksum mismatch' };
  const doc = decode(payload);
  if (!doc) return { kind: 'bad', reason: 'record payload is not valid BSON' };
  return { kind: 'ok', doc, next: end, payload };
}

/** The first offset ≥ `from` at which a complete, valid record starts, or -1. */
export function findNextRecord(buf: Buffer, from: number, version: 1 | 2): number {
  const headerBytes = version === 2 ? RECORD_HEADER_BYTES : V1_RECORD_HEADER_BYTES;
  for (let o = from; o + headerBytes <= buf.length; o++) {
    const len = buf.readUInt32LE(o);
    if (len < 5 || len > MAX_RECORD || o + headerBytes + len > buf.length) continue;
    if (version === 2 && crc32(buf.subarray(o, o + 4)) !== buf.readUInt32LE(o + 4)) continue;
    if (readRecordAt(buf, o, version).kind === 'ok') return o;
  }
  return -1;
}

export interface ReadRecord {
  doc: Doc;
  offset: number;
  /** The record's BSON bytes (a view of the file's buffer). */
  payload?: Buffer;
}

/**
 * The BSON bytes of the `doc` field of a `put` record's payload (a view: stored as they are, a
 * restored document needs no encoding), or undefined when the record is not laid out as
 * `writePutRecord` / `encodeRecord` write it (string fields, then `doc`).
 */
export function putDocBytes(payload: Buffer): Buffer | undefined {
  let p = 4;
  const end = payload.length - 1;
  while (p < end) {
    const type = payload[p]!;
    const nameEnd = payload.indexOf(0, p + 1);
    if (nameEnd < 0 || nameEnd >= end) return undefined;
    const v = nameEnd + 1;
    if (type === 0x03 && nameEnd - p === 4 && payload[p + 1] === 0x64 && payload[p + 2] === 0x6f && payload[p + 3] === 0x63) {
      const size = payload.readInt32LE(v);
      return size >= 5 && v + size <= end ? payload.subarray(v, v + size) : undefined;
    }
    if (type !== 0x02) return undefined;
    p = v + 4 + payload.readInt32LE(v);
  }
  return undefined;
}

export interface StrictRead {
  records: ReadRecord[];
  /** Byte offset just past the last intact record. */
  validLength: number;
  /** Why the bytes after `validLength` were dropped (a torn tail), if any were. */
  torn?: string;
}

/**
 * Reads every record from `start`; only a torn tail may be dropped, anything else throws
 * CorruptDataError naming `file` and the offset. v1 files cannot tell a damaged length from a
 * torn one, so there a bad record counts as a (garbage) tail unless a valid record follows it.
 * With `onRecord`, each record is handed to it as it is read and none is kept in `records`.
 */
export function readRecordsStrict(buf: Buffer, start: number, version: 1 | 2, file: string, onRecord?: (r: ReadRecord) => void): StrictRead {
  const records: ReadRecord[] = [];
  let offset = start;
  while (offset < buf.length) {
    const r = readRecordAt(buf, offset, version);
    if (r.kind === 'ok') {
      if (onRecord) onRecord({ doc: r.doc, offset, payload: r.payload });
      else records.push({ doc: r.doc, offset, payload: r.payload });
      offset = r.next;
      continue;
    }
    if (r.kind === 'bad' && (version === 2 || findNextRecord(buf, offset + 1, 1) !== -1)) throw damagedRecord(file, offset, r.reason);
    return { records, validLength: offset, torn: r.reason };
  }
  return { records, validLength: offset };
}

/** The error of a record that does not check out and is not a torn tail. */
export function damagedRecord(file: string, offset: number, reason: string): CorruptDataError {
  return new CorruptDataError(file, offset, `the record starting there: ${reason}, and more data follows (not a torn tail)`);
}

export interface SalvageRead {
  records: ReadRecord[];
  dropped: Array<{ from: number; to: number; reason: string }>;
}

/** Reads what can be read: skips damaged ranges by scanning forward for the next valid record. */
export function readRecordsSalvage(buf: Buffer, start: number, version: 1 | 2): SalvageRead {
  const records: ReadRecord[] = [];
  const dropped: SalvageRead['dropped'] = [];
  let offset = start;
  while (offset < buf.length) {
    const r = readRecordAt(buf, offset, version);
    if (r.kind === 'ok') {
      records.push({ doc: r.doc, offset });
      offset = r.next;
      continue;
    }
    const next = findNextRecord(buf, offset + 1, version);
    const to = next === -1 ? buf.length : next;
    dropped.push({ from: offset, to, reason: r.reason });
    offset = to;
  }
  return { records, dropped };
}
