/**
 * The data directory: file names, strict loading (start-up and roll-back) and atomic creation of
 * journal and snapshot files. Loading only reads; it never modifies a file.
 */
import { closeSync, fsyncSync, openSync, readSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Doc } from '../values.js';
import type { Catalog } from './catalog.js';
import type { ChangeOp } from './collection.js';
import type { EncodedDocs } from './docstore.js';
import {
  CorruptDataError,
  FILE_HEADER_BYTES,
  damagedRecord,
  checkFileHeader,
  encodeFileHeader,
  encodeRecord,
  putRecordBytes,
  putDocBytes,
  putRecordHead,
  RECORD_HEADER_BYTES,
  readRecordAt,
  readRecordsStrict,
  writePutRecord,
  type ReadRecord,
  type StrictRead,
} from './records.js';

export const SNAPSHOT = 'snapshot.bin';
export const SNAPSHOT_TMP = 'snapshot.tmp';
export const LOCK = 'embedded-mongo.lock';

export function journalName(gen: number): string {
  return `journal-${String(gen).padStart(8, '0')}.log`;
}

export function parseJournalName(name: string): number | undefined {
  const m = /^journal-(\d+)\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Data files are private to the engine's user, as MongoDB's are: files 0600, directories 0700. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/**
 * Creates `dir` (0700) when it is missing, then takes the group and other permission bits off the
 * directory and off everything below it (files become 0600 at most, directories 0700 at most), so
 * that files written by an older version or copied in with wider modes are private from now on.
 * Symbolic links are left alone (never followed).
 */
export async function makePrivate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  await narrowMode(dir);
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isSymbolicLink()) continue;
      await narrowMode(full);
      if (entry.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
}

async function narrowMode(file: string): Promise<void> {
  let mode: number;
  try {
    mode = (await lstat(file)).mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((mode & 0o077) !== 0) await chmod(file, mode & ~0o077);
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported on every platform; the rename is still atomic
  }
}

/**
 * Applies a journaled change; journal no-ops (written by the disk-space probe) are skipped. With the
 * record's bytes (`payload`), a restored document is stored as the bytes it was read as.
 */
export function applyChange(catalog: Catalog, doc: Doc, payload?: Buffer): void {
  if (doc.op === 'noop') return;
  catalog.apply(doc as unknown as ChangeOp, doc.op === 'put' && payload ? putDocBytes(payload) : undefined);
}

export interface JournalInfo {
  gen: number;
  file: string;
  version: 1 | 2;
  /** Bytes read (the file's size, or the limit given). */
  size: number;
  /** Offset just past the last intact record (the rest is a torn tail). */
  validLength: number;
  torn?: string;
  records: number;
}

export interface LoadResult {
  snapshotGen: number | undefined;
  snapshotVersion: 1 | 2 | undefined;
  journals: JournalInfo[];
  /** Records restored (snapshot documents and journal records). */
  restored: number;
  /** Journal records replayed (excluding no-ops). */
  replayed: number;
  /** Whether any file is still in format v1 (the directory should be compacted). */
  legacy: boolean;
}

interface LoadedSnapshot {
  version: 1 | 2;
  gen: number;
  /** Documents restored. */
  puts: number;
}

/**
 * Checks a snapshot and applies it to `catalog` as it reads it (one record at a time: no decoded
 * copy of the whole state is held). Throws CorruptDataError when it is damaged; `catalog` is then
 * partly filled and must be thrown away.
 */
export function loadSnapshot(buf: Buffer, file: string, catalog: Catalog): LoadedSnapshot {
  return applySnapshot(buf, buf.length, file, catalog, (start, version, onRecord) => readRecordsStrict(buf, start, version, file, onRecord));
}

/** Bytes of a snapshot read at a time at start-up (the file is never read whole: a million documents are 300 MB). */
export const SNAPSHOT_READ_BYTES = 4 * 1024 * 1024;

/** `loadSnapshot` reading the file SNAPSHOT_READ_BYTES at a time; the same checks, the same errors. */
export async function loadSnapshotFile(file: string, catalog: Catalog): Promise<LoadedSnapshot> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let window = Buffer.allocUnsafeSlow(Math.min(SNAPSHOT_READ_BYTES, Math.max(size, 1)));
    /** File offset of window[0], and how many bytes of the window hold the file's. */
    let base = 0;
    let filled = await readInto(fh, window, 0, 0);
    const first = window.subarray(0, filled);
    const records = (start: number, version: 1 | 2, onRecord: (r: ReadRecord) => void): StrictRead => {
      let pos = start;
      for (;;) {
        if (base + filled === size) {
          // The rest of the file is in the window: read it as a whole file would be read.
          return shifted(readRecordsStrict(window.subarray(0, filled), pos, version, file, (r) => onRecord({ ...r, offset: base + r.offset })), base);
        }
        const r = readRecordAt(window.subarray(0, filled), pos, version);
        if (r.kind === 'ok') {
          onRecord({ doc: r.doc, offset: base + pos, payload: r.payload });
          pos = r.next;
          continue;
        }
        // What a read of the whole file says of it too (the checks of a v2 record stop at its end); a v1
        // file's reader looks for a valid record further on, in the whole file.
        if (r.kind === 'bad') throw version === 2 ? damagedRecord(file, base + pos, r.reason) : new NeedsWholeFile(base + pos);
        // Torn in the window only: move what is left to its start and read on (a larger window for a large record).
        const headerBytes = version === 2 ? RECORD_HEADER_BYTES : 8;
        const need = filled - pos >= headerBytes ? headerBytes + window.readUInt32LE(pos) : headerBytes;
        if (need > window.length) {
          const larger = Buffer.allocUnsafeSlow(need);
          window.copy(larger, 0, pos, filled);
          window = larger;
        } else {
          window.copy(window, 0, pos, filled);
        }
        base += pos;
        filled -= pos;
        pos = 0;
        const more = readIntoSync(fh, window, filled, base + filled);
        if (more === 0) throw new NeedsWholeFile(base); // a window of zero bytes (damage), or the file changed
        filled += more;
      }
    };
    try {
      return applySnapshot(first, size, file, catalog, records);
    } catch (err) {
      if (!(err instanceof NeedsWholeFile)) throw err;
    }
  } finally {
    await fh.close();
  }
  // A damaged record: the whole file read as one buffer, for exactly the errors (and offsets) of a
  // whole read (`catalog` is partly filled either way, and dropped after the error).
  return loadSnapshot(await readFile(file), file, catalog);
}

class NeedsWholeFile extends Error {
  constructor(readonly offset: number) {
    super(`damaged record at ${offset}`);
  }
}

function shifted(read: StrictRead, base: number): StrictRead {
  return { ...read, validLength: base + read.validLength };
}

/** Fills `buf` from `at` with the file's bytes from `position` (until full or at the end of the file); returns how many it read. */
async function readInto(fh: FileHandle, buf: Buffer, at: number, position: number): Promise<number> {
  let n = 0;
  while (at + n < buf.length) {
    const { bytesRead } = await fh.read(buf, at + n, buf.length - at - n, position + n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return n;
}

function readIntoSync(fh: FileHandle, buf: Buffer, at: number, position: number): number {
  let n = 0;
  while (at + n < buf.length) {
    const bytesRead = readSync(fh.fd, buf, at + n, buf.length - at - n, position + n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return n;
}

/**
 * The checks and the application of a snapshot: `head` holds at least its first bytes (the whole
 * file when it is shorter than a read), `records` reads its records from an offset.
 */
function applySnapshot(
  first: Buffer,
  size: number,
  file: string,
  catalog: Catalog,
  records: (start: number, version: 1 | 2, onRecord: (r: ReadRecord) => void) => StrictRead,
): LoadedSnapshot {
  const header = checkFileHeader(first, 'snapshot');
  if (header.kind === 'bad') throw new CorruptDataError(file, 0, header.reason);
  if (size === 0) throw new CorruptDataError(file, 0, 'snapshot is empty (0 bytes)');
  const version = header.kind === 'v2' ? 2 : 1;
  const start = version === 2 ? FILE_HEADER_BYTES : 0;
  let head: ReadRecord | undefined;
  let tail: ReadRecord | undefined;
  let count = 0;
  let puts = 0;
  const read = records(start, version, (r) => {
    count++;
    if (!head) {
      head = r;
      if (r.doc.snapshot !== 1) throw new CorruptDataError(file, start, 'the snapshot start record is missing');
      if (header.kind === 'v2' && header.gen !== Number(r.doc.gen)) {
        throw new CorruptDataError(file, start, `the snapshot header says generation ${header.gen}, its start record ${Number(r.doc.gen)}`);
      }
      return;
    }
    tail = r;
    // The end record is no change: applying it does nothing.
    applyOrThrow(catalog, r, file);
    if (r.doc.op === 'put') puts++;
  });
  if (read.torn !== undefined) {
    throw new CorruptDataError(file, read.validLength, `snapshot ends early (${read.torn}); a snapshot is written atomically and is never torn`);
  }
  if (!head) throw new CorruptDataError(file, start, 'the snapshot start record is missing');
  if (!tail || tail.doc.end !== 1 || count < 2) {
    throw new CorruptDataError(file, read.validLength, 'the snapshot end record is missing');
  }
  if (tail.doc.count !== undefined && Number(tail.doc.count) !== puts) {
    throw new CorruptDataError(file, tail.offset, `the snapshot end record counts ${String(tail.doc.count)} documents, the file holds ${puts}`);
  }
  return { version, gen: Number(head.doc.gen), puts };
}

/**
 * Loads snapshot + journals into `catalog` (a fresh one: after a CorruptDataError it is partly
 * filled and must be dropped), refusing anything but a torn tail (CorruptDataError).
 * `limits` caps how many bytes of a journal generation are read (roll-back to the durable offset).
 */
export async function loadDataDir(dir: string, catalog: Catalog, limits?: ReadonlyMap<number, number>): Promise<LoadResult> {
  const names = await readdir(dir);
  let snapshot: LoadedSnapshot | undefined;
  const snapFile = path.join(dir, SNAPSHOT);
  // Applied as it is read (the journals are checked after it; on any error the catalog is dropped).
  if (names.includes(SNAPSHOT)) {
    snapshot = await loadSnapshotFile(snapFile, catalog);
  }

  const allGens = names
    .map(parseJournalName)
    .filter((g): g is number => g !== undefined)
    .sort((a, b) => a - b);
  const snapshotGen = snapshot?.gen;
  const gens = allGens.filter((g) => snapshotGen === undefined || g >= snapshotGen);
  if (snapshotGen === undefined) {
    const later = gens.find((g) => g > 0);
    if (later !== undefined) {
      throw new CorruptDataError(snapFile, 0, `${SNAPSHOT} is missing, but ${journalName(later)} (generation ${later} > 0) exists and needs it`);
    }
  } else if (gens[0] !== snapshotGen) {
    throw new CorruptDataError(path.join(dir, journalName(snapshotGen)), 0, `the journal of generation ${snapshotGen} is missing (${SNAPSHOT} is generation ${snapshotGen})`);
  }
  for (let i = 1; i < gens.length; i++) {
    if (gens[i] !== gens[0]! + i) {
      throw new CorruptDataError(path.join(dir, journalName(gens[0]! + i)), 0, `generation gap: the journal of generation ${gens[0]! + i} is missing before ${journalName(gens[i]!)}`);
    }
  }

  // Parse everything before applying anything to the journals' order of validity.
  let legacyAllowed = snapshot === undefined || snapshot.version === 1;
  const parsed: Array<{ info: JournalInfo; records: ReadRecord[] }> = [];
  for (const gen of gens) {
    const file = path.join(dir, journalName(gen));
    let buf = await readFile(file);
    const limit = limits?.get(gen);
    if (limit !== undefined && limit < buf.length) buf = buf.subarray(0, limit);
    const header = checkFileHeader(buf, 'journal');
    if (header.kind === 'bad') throw new CorruptDataError(file, 0, header.reason);
    if (header.kind === 'v1' && !legacyAllowed) {
      throw new CorruptDataError(file, 0, buf.length === 0 ? 'journal is empty (0 bytes); a journal always starts with a 16-byte header' : 'no journal header');
    }
    if (header.kind === 'v2') {
      legacyAllowed = false;
      if (header.gen !== gen) throw new CorruptDataError(file, 8, `the journal header says generation ${header.gen}`);
    }
    const version = header.kind === 'v2' ? 2 : 1;
    const read = readRecordsStrict(buf, version === 2 ? FILE_HEADER_BYTES : 0, version, file);
    const info: JournalInfo = { gen, file, version, size: buf.length, validLength: read.validLength, records: read.records.length };
    if (read.torn !== undefined) info.torn = read.torn;
    parsed.push({ info, records: read.records });
  }
  // A torn tail is only a tail: no journal after it may hold records.
  for (let i = 0; i < parsed.length - 1; i++) {
    const { info } = parsed[i]!;
    if (info.torn !== undefined && parsed.slice(i + 1).some((p) => p.records.some((r) => r.doc.op !== 'noop'))) {
      throw new CorruptDataError(info.file, info.validLength, `${info.torn}, but later journals hold records`);
    }
  }

  let restored = 0;
  let replayed = 0;
  if (snapshot) restored += snapshot.puts;
  for (const { info, records } of parsed) {
    for (const r of records) {
      if (r.doc.op === 'noop') continue;
      applyOrThrow(catalog, r, info.file);
      replayed++;
    }
  }
  restored += replayed;
  return {
    snapshotGen,
    snapshotVersion: snapshot?.version,
    journals: parsed.map((p) => p.info),
    restored,
    replayed,
    legacy: snapshot?.version === 1 || parsed.some((p) => p.info.version === 1),
  };
}

function applyOrThrow(catalog: Catalog, r: ReadRecord, file: string): void {
  try {
    applyChange(catalog, r.doc, r.payload);
  } catch (err) {
    throw new CorruptDataError(file, r.offset, `the record could not be replayed: ${(err as Error).message}`);
  }
}

/**
 * Above glibc's largest dynamic mmap threshold (32 MiB on 64-bit): a chunk is always mapped on its
 * own and unmapped when freed, never left as a hole in the C heap after the snapshot is written.
 */
const SNAPSHOT_CHUNK = 33 * 1024 * 1024;

/**
 * The whole state as snapshot records, in chunks of SNAPSHOT_CHUNK bytes. Documents are copied from
 * the collections' stored bytes straight into the chunks (no buffer per record: a snapshot of a
 * million documents would otherwise leave hundreds of MB of small freed allocations in the C heap).
 */
export function encodeSnapshot(catalog: Catalog, gen: number): Buffer[] {
  return [...captureSnapshot(catalog, gen).chunks(SNAPSHOT_CHUNK, false)];
}

/** Bytes of the chunk a compaction writes its snapshot through (one, reused). */
export const SNAPSHOT_WRITE_CHUNK = 4 * 1024 * 1024;

/** The state at one moment, to be written as a snapshot later (`captureSnapshot`). */
export interface CapturedSnapshot {
  /**
   * The snapshot file's bytes, in chunks of at least `chunkBytes` (one larger for a larger record).
   * With `reuse`, each chunk is the same buffer, overwritten by the next one: write each before
   * asking for the next.
   */
  chunks(chunkBytes: number, reuse: boolean): IterableIterator<Buffer>;
}

/**
 * Cuts the state for a snapshot, synchronously: the records of the collections and their indexes
 * are encoded now, the documents are found where they are stored (`Collection.capture`, 12 bytes
 * each) and copied into the chunks as they are written. A compaction thus holds a chunk, not a copy
 * of the whole state (300 MB for a million ledger entries).
 */
export function captureSnapshot(catalog: Catalog, gen: number): CapturedSnapshot {
  const start = [encodeFileHeader('snapshot', gen), encodeRecord({ snapshot: 1, gen, createdAt: new Date() })];
  const colls: Array<{ records: Buffer[]; head: Uint8Array; docs: EncodedDocs }> = [];
  let count = 0;
  for (const [db, byName] of catalog.dbs) {
    for (const coll of byName.values()) {
      const records = [encodeRecord({ op: 'createColl', db, coll: coll.name, options: coll.options, uuid: coll.uuid })];
      for (const spec of coll.indexSpecs().slice(1)) records.push(encodeRecord({ op: 'createIndex', db, coll: coll.name, spec }));
      const docs = coll.capture();
      count += docs.count;
      colls.push({ records, head: putRecordHead(db, coll.name), docs });
    }
  }
  const end = encodeRecord({ end: 1, count });
  return {
    *chunks(chunkBytes: number, reuse: boolean): IterableIterator<Buffer> {
      yield* start;
      let chunk = Buffer.allocUnsafeSlow(chunkBytes);
      let at = 0;
      function* room(n: number): IterableIterator<Buffer> {
        if (at + n <= chunk.length) return;
        if (at > 0) yield chunk.subarray(0, at);
        if (n > chunk.length || !reuse) chunk = Buffer.allocUnsafeSlow(Math.max(chunkBytes, n));
        at = 0;
      }
      for (const { records, head, docs } of colls) {
        for (const rec of records) {
          yield* room(rec.length);
          chunk.set(rec, at);
          at += rec.length;
        }
        for (let i = 0; i < docs.count; i++) {
          const slab = docs.slabs[docs.slab[i]!]!;
          const bytes = slab.subarray(docs.off[i]!, docs.off[i]! + docs.len[i]!);
          yield* room(putRecordBytes(head, bytes));
          at = writePutRecord(chunk, at, head, bytes);
        }
      }
      if (at > 0) yield chunk.subarray(0, at);
      yield end;
    },
  };
}

/** Writes every byte of `buf` at `position`, looping over partial writes. Returns the end position. */
export async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, position + off);
    if (bytesWritten <= 0) throw Object.assign(new Error('write wrote 0 bytes'), { code: 'EIO' });
    off += bytesWritten;
  }
  return position + buf.length;
}

/** Writes `chunks` to `tmpName`, fsyncs and renames it to `finalName` (removing the temp file on failure). */
export async function writeFileAtomically(dir: string, tmpName: string, finalName: string, chunks: Iterable<Buffer>, beforeWrite?: () => void): Promise<void> {
  const tmp = path.join(dir, tmpName);
  try {
    const fh = await open(tmp, 'w', FILE_MODE);
    try {
      let pos = 0;
      for (const chunk of chunks) {
        beforeWrite?.();
        pos = await writeFully(fh, chunk, pos);
      }
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(dir, finalName));
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  fsyncDir(dir);
}

/** Creates `journal-<gen>.log` holding only its header, atomically, and opens it for writing. */
export async function createJournal(dir: string, gen: number, beforeWrite?: () => void): Promise<FileHandle> {
  const name = journalName(gen);
  await writeFileAtomically(dir, `${name}.tmp`, name, [encodeFileHeader('journal', gen)], beforeWrite);
  return open(path.join(dir, name), 'r+');
}
