/**
 * MongoDB wire protocol framing: parses OP_MSG (kind-0 body, kind-1 document sequences,
 * optional checksum) and legacy OP_QUERY, and encodes OP_MSG and OP_REPLY responses.
 */
import { deserialize, serialize } from 'bson';
import { RawDocument } from '../cursors.js';
import { fromWire, isPlainObject, type Doc } from '../values.js';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

export const MSG_CHECKSUM_PRESENT = 1;
export const MSG_MORE_TO_COME = 2;

export const MAX_MESSAGE_SIZE = 48_000_000;

export interface ParsedMessage {
  requestID: number;
  opCode: number;
  /** The command document (OP_MSG body with document sequences merged in, or OP_QUERY query). */
  command: Doc;
  /** Database name: `$db` for OP_MSG, the namespace prefix for OP_QUERY. */
  db: string;
  /** For OP_MSG: the client does not expect a reply (unacknowledged write). */
  moreToCome: boolean;
}

const DESERIALIZE_OPTIONS = { promoteValues: false, promoteBuffers: false, bsonRegExp: false } as const;

function readDoc(buf: Buffer, offset: number): { doc: Doc; size: number } {
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > buf.length) throw new Error('invalid BSON document size');
  const doc = deserialize(buf.subarray(offset, offset + size), DESERIALIZE_OPTIONS) as Doc;
  return { doc: fromWire(doc) as Doc, size };
}

function readCString(buf: Buffer, offset: number): { value: string; next: number } {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new Error('unterminated cstring');
  return { value: buf.toString('utf8', offset, end), next: end + 1 };
}

/** Parses one complete message (header included). Throws on malformed input. */
export function parseMessage(msg: Buffer): ParsedMessage {
  const requestID = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = msg.readUInt32LE(16);
    let end = msg.length;
    if (flags & MSG_CHECKSUM_PRESENT) end -= 4;
    let offset = 20;
    let body: Doc | undefined;
    const sequences: Array<[string, Doc[]]> = [];
    while (offset < end) {
      const kind = msg.readUInt8(offset);
      offset += 1;
      if (kind === 0) {
        const { doc, size } = readDoc(msg, offset);
        body = doc;
        offset += size;
      } else if (kind === 1) {
        const sectionSize = msg.readInt32LE(offset);
        const sectionEnd = offset + sectionSize;
        const { value: identifier, next } = readCString(msg, offset + 4);
        let p = next;
        const docs: Doc[] = [];
        while (p < sectionEnd) {
          const { doc, size } = readDoc(msg, p);
          docs.push(doc);
          p += size;
        }
        sequences.push([identifier, docs]);
        offset = sectionEnd;
      } else {
        throw new Error(`unsupported OP_MSG section kind ${kind}`);
      }
    }
    if (!body) throw new Error('OP_MSG without a body section');
    for (const [identifier, docs] of sequences) body[identifier] = docs;
    const db = typeof body.$db === 'string' ? body.$db : 'admin';
    return { requestID, opCode, command: body, db, moreToCome: (flags & MSG_MORE_TO_COME) !== 0 };
  }
  if (opCode === OP_QUERY) {
    let offset = 20; // flags at 16
    const { value: fullName, next } = readCString(msg, offset);
    offset = next + 8; // numberToSkip, numberToReturn
    const { doc } = readDoc(msg, offset);
    let command = doc;
    // Legacy wrapped form: { $query: {...}, $readPreference: ... }
    if (command.$query && typeof command.$query === 'object') command = command.$query as Doc;
    const db = fullName.split('.')[0] ?? 'admin';
    return { requestID, opCode, command, db, moreToCome: false };
  }
  throw new Error(`unsupported opCode ${opCode}`);
}

let nextRequestId = 1;

function header(totalLength: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(totalLength, 0);
  h.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/**
 * A reply's BSON. A cursor reply (`{cursor: {firstBatch|nextBatch: [...], ...}, ...}`, the batch
 * first, as the read commands build it) whose batch holds stored documents' bytes (RawDocument)
 * gets them spliced into the batch array as they are: the rest is serialized with an empty array,
 * whose 5 bytes are replaced, and the two enclosing lengths adjusted.
 */
export function serializeReply(doc: Doc): Uint8Array {
  const cursor = doc.cursor;
  if (Object.keys(doc)[0] !== 'cursor' || !isPlainObject(cursor)) return serialize(doc);
  const key = Object.keys(cursor)[0];
  const batch = key === 'firstBatch' || key === 'nextBatch' ? cursor[key] : undefined;
  if (!Array.isArray(batch) || !batch.some((d) => d instanceof RawDocument)) return serialize(doc);
  const parts: Uint8Array[] = [];
  let length = 4 + 1;
  batch.forEach((d: Doc | RawDocument, i) => {
    const name = String(i);
    const head = Buffer.allocUnsafe(name.length + 2);
    head[0] = 0x03;
    head.write(name, 1, 'latin1');
    head[name.length + 1] = 0;
    const bytes = d instanceof RawDocument ? d.bytes : serialize(d);
    parts.push(head, bytes);
    length += head.length + bytes.length;
  });
  const encoded = serialize({ ...doc, cursor: { ...cursor, [key!]: [] } });
  const shell = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  // int32 length, 0x03 "cursor\0", int32 length, 0x04 "<key>\0", then the empty array (5 bytes).
  const valueAt = 4 + 1 + 7 + 4 + 1 + key!.length + 1;
  const out = Buffer.allocUnsafe(shell.length - 5 + length);
  shell.copy(out, 0, 0, valueAt);
  out.writeInt32LE(length, valueAt);
  let w = valueAt + 4;
  for (const part of parts) {
    out.set(part, w);
    w += part.length;
  }
  out[w++] = 0;
  shell.copy(out, w, valueAt + 5);
  out.writeInt32LE(out.length, 0);
  out.writeInt32LE(shell.readInt32LE(12) - 5 + length, 12);
  return out;
}

export function encodeOpMsg(responseTo: number, doc: Doc): Buffer {
  const body = serializeReply(doc);
  const prefix = Buffer.alloc(5); // flags (4) + section kind 0 (1)
  const total = 16 + prefix.length + body.length;
  return Buffer.concat([header(total, responseTo, OP_MSG), prefix, body]);
}

export function encodeOpReply(responseTo: number, doc: Doc): Buffer {
  const body = serializeReply(doc);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(8, 0); // responseFlags: AwaitCapable
  fields.writeBigInt64LE(0n, 4); // cursorID
  fields.writeInt32LE(0, 12); // startingFrom
  fields.writeInt32LE(1, 16); // numberReturned
  const total = 16 + fields.length + body.length;
  return Buffer.concat([header(total, responseTo, OP_REPLY), fields, body]);
}

/**
 * Accumulates TCP chunks and yields complete messages, handling messages split across reads
 * and several messages in one read.
 */
export class MessageFramer {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const out: Buffer[] = [];
    while (this.length >= 4) {
      const head = this.peek(4);
      const size = head.readInt32LE(0);
      if (size < 16 || size > MAX_MESSAGE_SIZE) throw new Error(`invalid message length ${size}`);
      if (this.length < size) break;
      out.push(this.take(size));
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const msg = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return msg;
  }
}
