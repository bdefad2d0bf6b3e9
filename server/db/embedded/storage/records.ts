/**
 * Length- and checksum-framed BSON records, the on-disk format of both the journal and snapshots:
 * `[u32 payload length][u32 crc32(payload)][payload: one BSON document]`.
 * A reader stops at the first record that is incomplete or fails its checksum (a torn write).
 */
import { crc32 } from 'node:zlib';
import { deserialize, serialize } from 'bson';
import { fromWire, type Doc } from '../values.js';

const HEADER = 8;
const MAX_RECORD = 64 * 1024 * 1024;

export function encodeRecord(doc: Doc): Buffer {
  const payload = serialize(doc);
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

export interface ReadResult {
  records: Doc[];
  /** Byte offset just past the last intact record. */
  validLength: number;
  /** True when bytes after `validLength` were ignored. */
  torn: boolean;
}

export function readRecords(buf: Buffer): ReadResult {
  const records: Doc[] = [];
  let offset = 0;
  while (offset + HEADER <= buf.length) {
    const len = buf.readUInt32LE(offset);
    const sum = buf.readUInt32LE(offset + 4);
    if (len < 5 || len > MAX_RECORD || offset + HEADER + len > buf.length) break;
    const payload = buf.subarray(offset + HEADER, offset + HEADER + len);
    if (crc32(payload) !== sum) break;
    let doc: Doc;
    try {
      doc = fromWire(deserialize(payload, { promoteValues: false, promoteBuffers: false })) as Doc;
    } catch {
      break;
    }
    records.push(doc);
    offset += HEADER + len;
  }
  return { records, validLength: offset, torn: offset !== buf.length };
}
