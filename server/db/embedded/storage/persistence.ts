/**
 * Durability: a write-ahead journal of applied changes plus periodic snapshots (format and file
 * rules: `records.ts`, `datadir.ts`, README "Durability").
 *
 * - Every change is appended (in memory) to the current journal as it is applied; a group commit
 *   writes and fsyncs the batch within GROUP_COMMIT_MS. `sync()` (used for `j: true` write
 *   concerns) starts the write at once and resolves once the batch holding the caller's change is
 *   on disk; concurrent callers share one write + fsync.
 * - A failed journal write or fsync (ENOSPC, EIO, EROFS, ...) is a failure: the waiting writes are
 *   rejected, the journal is cut back to its durable offset, the in-memory state is reloaded from
 *   disk (so a refused write is neither visible nor replayed later), and every write is refused
 *   (`writeRefusal()`) until a probe manages to write and fsync a no-op record again.
 * - Compaction: create the next journal generation (atomically, header only), flush the old one,
 *   cut (synchronously: capture the state, switch journals), write `snapshot.tmp`, fsync, rename
 *   over `snapshot.bin`, delete older journals. A crash or a failure at any point leaves either the
 *   old snapshot + all its journals or the new snapshot + the new journal; a failed compaction
 *   removes its temporary file and is retried later.
 */
import { mkdir, open, readdir, rm, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, MongoCommandError } from '../errors.js';
import type { Durability, Logger } from '../server.js';
import type { Doc } from '../values.js';
import { Catalog } from './catalog.js';
import type { ChangeOp } from './collection.js';
import { diffDocuments } from './delta.js';
import {
  DIR_MODE,
  SNAPSHOT,
  SNAPSHOT_TMP,
  createJournal,
  SNAPSHOT_WRITE_CHUNK,
  captureSnapshot,
  encodeSnapshot,
  journalName,
  loadDataDir,
  makePrivate,
  parseJournalName,
  writeFileAtomically,
  writeFully,
  type CapturedSnapshot,
  type LoadResult,
} from './datadir.js';
import { acquireLock, type DirLock } from './lock.js';
import { noteReleased } from './memory.js';
import { FILE_HEADER_BYTES, encodeRecord, encodeRecordInto } from './records.js';

export const GROUP_COMMIT_MS = 50;
export const COMPACT_THRESHOLD_BYTES = 64 * 1024 * 1024;
export const PROBE_INTERVAL_MS = 500;
export const COMPACT_RETRY_MS = 10_000;
/** First size of a journal write buffer; it grows to the largest batch (and is reused: no buffer per record, #23). */
const JOURNAL_BUFFER_BYTES = 1024 * 1024;
/** A write buffer grown past this is dropped after its batch rather than kept for the next one. */
const JOURNAL_BUFFER_KEEP = 32 * 1024 * 1024;
/** Write buffers grown by a burst of writes go back to their first size after this long without a write. */
const JOURNAL_BUFFER_IDLE_MS = 1_000;

/** Fault injection for tests: throw from a hook to make that write or fsync fail like the OS would. */
export interface StorageFaults {
  /** Before each write to a data file (journal, `snapshot.tmp`, a journal's temp file); gets the file name. */
  beforeWrite?(file: string): void;
  /** Before each fsync of the journal; gets the file name. */
  beforeSync?(file: string): void;
}

export interface PersistenceOptions {
  /** Compact once this many bytes were journaled since the last snapshot. */
  compactThresholdBytes?: number;
  /** How often a failed engine tries to write the journal again (default 500 ms). */
  probeIntervalMs?: number;
  /** How long to wait before retrying a failed compaction (default 10 s). */
  compactRetryMs?: number;
  faults?: StorageFaults;
  /** Called after the in-memory state was rolled back to what is on disk. */
  onRollback?: () => void;
}

export interface DurabilityStatus {
  /** False while journal writes fail and every write command is refused. */
  writable: boolean;
  /** The most recent journal write failure (kept after recovery). */
  lastError?: string;
  /** When the current failure began (only while not writable). */
  failedSince?: Date;
  /** How many failure episodes there were since start-up. */
  failures: number;
}

interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a batch nobody waits for (w:1 writes) must not be an unhandled rejection
  return { promise, resolve, reject };
}

/**
 * What the journal holds for a change: a new version of a document as the delta from the version it
 * replaces when there is one of at most MAX_DELTA_CHANGES changes (so a small change to a large
 * document journals a few bytes), else the whole document.
 */
export function journalRecord(change: ChangeOp): Doc {
  if (change.op !== 'put') return change as unknown as Doc;
  const { db, coll, doc, prev } = change;
  const d = prev && diffDocuments(prev, doc);
  return d ? { op: 'upd', db, coll, id: doc._id, d } : { op: 'put', db, coll, doc };
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The command error a write gets when the journal cannot be written. */
export function journalWriteError(err: unknown, file: string): MongoCommandError {
  const errno = errnoOf(err) ?? 'EIO';
  const full = errno === 'ENOSPC' || errno === 'EDQUOT';
  const detail = err instanceof Error ? err.message : String(err);
  return new MongoCommandError(
    full ? ErrorCodes.OutOfDiskSpace : ErrorCodes.InternalError,
    `journal write failed with ${errno} on ${file} (${detail}); the embedded engine refuses writes until the journal can be written again`,
  );
}

export class Persistence implements Durability {
  /**
   * The records not written yet, encoded one after the other into a reused buffer (a buffer per record
   * left hundreds of MB of freed small allocations in the C heap after a bulk load, #23): bytes
   * 0..pendingBytes of `pending`. While a batch is written, new records go into the other buffer.
   */
  private pending: Buffer = Buffer.allocUnsafeSlow(JOURNAL_BUFFER_BYTES);
  private pendingBytes = 0;
  /** The buffer of the previous batch once written, for the next one. */
  private spare: Buffer | undefined;
  private batch: Batch | undefined;
  private inflight: Batch | undefined;
  private queue: Promise<void> = Promise.resolve();
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;
  private shrinkTimer: NodeJS.Timeout | undefined;
  /** Batches written so far (the shrink timer's way of telling that the journal was idle). */
  private flushes = 0;
  /** Write position in the current journal. */
  private size: number;
  /** Bytes of the current journal known written and fsynced. */
  private durable: number;
  private unsnapshotted = 0;
  private compacting: Promise<void> | undefined;
  private compactRetryAt = 0;
  private closed = false;
  private failure: { error: MongoCommandError; since: Date } | undefined;
  private lastError: string | undefined;
  private failures = 0;
  private needsReload = false;
  /** Journal generations still to be cut back to their durable length. */
  private readonly truncations = new Map<number, number>();
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly compactThreshold: number;
  private readonly probeInterval: number;
  private readonly compactRetry: number;

  private constructor(
    private readonly dir: string,
    private readonly catalog: Catalog,
    private readonly logger: Logger | undefined,
    private readonly lock: DirLock,
    private gen: number,
    private fh: FileHandle,
    size: number,
    private readonly options: PersistenceOptions,
  ) {
    this.size = size;
    this.durable = size;
    this.compactThreshold = options.compactThresholdBytes ?? COMPACT_THRESHOLD_BYTES;
    this.probeInterval = options.probeIntervalMs ?? PROBE_INTERVAL_MS;
    this.compactRetry = options.compactRetryMs ?? COMPACT_RETRY_MS;
  }

  /**
   * Opens (or creates) a data directory and loads it into `catalog`. Rejects with CorruptDataError
   * (naming the file and byte offset) when anything but a torn tail cannot be read; then no data
   * file was modified.
   */
  static async open(dir: string, catalog: Catalog, logger?: Logger, options: PersistenceOptions = {}): Promise<Persistence> {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const lock = await acquireLock(dir);
    const started = Date.now();
    let loaded: LoadResult;
    try {
      await makePrivate(dir);
      loaded = await loadDataDir(dir, catalog);
    } catch (err) {
      await lock.release(true).catch(() => undefined);
      throw err;
    }
    let p: Persistence;
    try {
      for (const j of loaded.journals) {
        if (j.torn === undefined) continue;
        logger?.warn?.(`embedded-mongo: dropping a torn tail of ${j.size - j.validLength} bytes at offset ${j.validLength} of ${j.file} (${j.torn})`);
        await truncate(j.file, j.validLength);
      }
      const last = loaded.journals[loaded.journals.length - 1];
      let gen: number;
      let fh: FileHandle;
      let size = FILE_HEADER_BYTES;
      if (!last) {
        gen = 0;
        fh = await createJournal(dir, gen);
        // An (empty) generation-0 snapshot marks the directory as format v2 from the start.
        await writeFileAtomically(dir, SNAPSHOT_TMP, SNAPSHOT, encodeSnapshot(catalog, gen));
      } else if (last.version === 1) {
        gen = last.gen + 1; // never append v2 records to a v1 file
        fh = await createJournal(dir, gen);
      } else {
        gen = last.gen;
        fh = await open(last.file, 'r+');
        size = last.validLength;
      }
      p = new Persistence(dir, catalog, logger, lock, gen, fh, size, options);
    } catch (err) {
      await lock.release().catch(() => undefined);
      throw err;
    }
    catalog.listener = (change) => p.append(change);
    logger?.info?.(`embedded-mongo: restored ${loaded.restored} records from ${dir} in ${Date.now() - started} ms`);
    if (loaded.replayed > 0 || loaded.legacy) await p.compact();
    return p;
  }

  private currentFile(): string {
    return path.join(this.dir, journalName(this.gen));
  }

  private append(change: ChangeOp): void {
    if (this.closed) return;
    if (this.failure) {
      // A change that slipped past the refusal (e.g. the TTL monitor): undo it by reloading.
      this.needsReload = true;
      return;
    }
    const before = this.pendingBytes;
    this.pendingBytes = this.encodePending(journalRecord(change));
    this.unsnapshotted += this.pendingBytes - before;
    this.batch ??= newBatch();
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, GROUP_COMMIT_MS);
    }
    if (this.unsnapshotted > this.compactThreshold && !this.compacting && Date.now() >= this.compactRetryAt) {
      void this.compact();
    }
  }

  /** Appends the record of `doc` to the pending bytes (growing the buffer if needed); returns the new end. */
  private encodePending(doc: Doc): number {
    const end = encodeRecordInto(doc, this.pending, this.pendingBytes);
    if (end >= 0) return end;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.pending.length * 2, this.pendingBytes - end));
    this.pending.copy(grown, 0, 0, this.pendingBytes);
    this.pending = grown;
    const at = encodeRecordInto(doc, this.pending, this.pendingBytes);
    if (at < 0) throw new Error(`journal record of ${-at} bytes does not fit its buffer`);
    return at;
  }

  /** Makes the pending bytes an empty buffer (the spare one if there is one). */
  private takePending(): Buffer {
    const bytes = this.pending.subarray(0, this.pendingBytes);
    this.pending = this.spare ?? Buffer.allocUnsafeSlow(JOURNAL_BUFFER_BYTES);
    this.spare = undefined;
    this.pendingBytes = 0;
    return bytes;
  }

  /** A written batch's buffer becomes the spare one (unless it grew very large). */
  private recycle(bytes: Buffer): void {
    if (bytes.buffer.byteLength <= JOURNAL_BUFFER_KEEP && (!this.spare || this.spare.length < bytes.buffer.byteLength)) {
      this.spare = Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength);
    }
  }

  /** Resolves once every change made so far is on disk; rejects (with a command error) if it never will be. */
  sync(): Promise<void> {
    if (this.pendingBytes) {
      const batch = this.batch!;
      this.kick();
      return batch.promise;
    }
    if (this.inflight) return this.inflight.promise;
    return Promise.resolve();
  }

  /** The error every write command gets while the journal cannot be written, else undefined. */
  writeRefusal(): MongoCommandError | undefined {
    return this.failure?.error;
  }

  status(): DurabilityStatus & Doc {
    const out: DurabilityStatus & Doc = { writable: !this.failure, failures: this.failures };
    if (this.lastError !== undefined) out.lastError = this.lastError;
    if (this.failure) out.failedSince = this.failure.since;
    return out;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    this.enqueue(() => this.flushLoop())
      .catch((err: unknown) => this.logger?.error?.(`embedded-mongo: journal flush: ${(err as Error).message}`))
      .finally(() => {
        this.flushing = false;
        if (this.pendingBytes && !this.failure) this.kick();
        else this.shrinkWhenIdle();
      });
  }

  /** Once the journal had no write for JOURNAL_BUFFER_IDLE_MS, its write buffers go back to their first size (a bulk load grows them to tens of MB). */
  private shrinkWhenIdle(): void {
    if (this.shrinkTimer || this.closed) return;
    const seen = this.flushes;
    this.shrinkTimer = setTimeout(() => {
      this.shrinkTimer = undefined;
      if (this.flushes !== seen || this.flushing || this.pendingBytes) return this.shrinkWhenIdle();
      let freed = this.spare?.length ?? 0;
      this.spare = undefined;
      if (this.pending.length > JOURNAL_BUFFER_BYTES) {
        freed += this.pending.length;
        this.pending = Buffer.allocUnsafeSlow(JOURNAL_BUFFER_BYTES);
      }
      noteReleased(freed);
    }, JOURNAL_BUFFER_IDLE_MS);
    this.shrinkTimer.unref();
  }

  /** Writes and fsyncs batches until nothing is pending. Runs on the I/O queue; never throws. */
  private async flushLoop(): Promise<void> {
    while (this.pendingBytes && !this.failure) {
      const bytes = this.takePending();
      this.flushes++;
      const batch = this.batch!;
      this.batch = undefined;
      this.inflight = batch;
      const file = this.currentFile();
      try {
        this.options.faults?.beforeWrite?.(file);
        this.size = await writeFully(this.fh, bytes, this.size);
        this.options.faults?.beforeSync?.(file);
        await this.fh.datasync();
        this.durable = this.size;
        this.inflight = undefined;
        batch.resolve();
      } catch (err) {
        this.inflight = undefined;
        await this.enterFailed(err, file, batch);
      } finally {
        this.recycle(bytes);
      }
    }
  }

  private async enterFailed(err: unknown, file: string, batch: Batch): Promise<void> {
    const error = journalWriteError(err, file);
    this.lastError = error.message;
    if (!this.failure) {
      this.failure = { error, since: new Date() };
      this.failures++;
      this.logger?.error?.(`embedded-mongo: ${error.message}; rolled back to the last durable state, probing every ${this.probeInterval} ms`);
    }
    const failure = this.failure;
    // Nothing after the durable offset will reach disk: the failed batch and whatever came since.
    const lost = [batch, ...(this.batch ? [this.batch] : [])];
    this.pendingBytes = 0;
    this.batch = undefined;
    this.size = this.durable;
    this.truncations.set(this.gen, this.durable);
    this.needsReload = true;
    try {
      await this.restoreDiskState();
    } catch (e) {
      this.lastError = `${error.message}; roll-back pending: ${(e as Error).message}`;
    }
    for (const b of lost) b.reject(failure.error);
    this.startProbe();
  }

  /** Cuts journals back to their durable length and reloads the state from disk if needed. */
  private async restoreDiskState(): Promise<void> {
    for (const [gen, len] of [...this.truncations]) {
      if (gen === this.gen) await this.fh.truncate(len);
      else await truncate(path.join(this.dir, journalName(gen)), len);
      this.truncations.delete(gen);
    }
    if (this.needsReload) await this.reload();
  }

  /** Replaces the in-memory state with exactly what is durable on disk. */
  private async reload(): Promise<void> {
    const limits = new Map<number, number>(this.truncations);
    limits.set(this.gen, this.durable);
    for (let attempt = 0; ; attempt++) {
      const fresh = new Catalog();
      try {
        await loadDataDir(this.dir, fresh, limits);
      } catch (err) {
        // A concurrent compaction may have replaced the snapshot and removed old journals.
        if (errnoOf(err) === 'ENOENT' && attempt < 5) continue;
        throw err;
      }
      this.catalog.replaceWith(fresh);
      this.needsReload = false;
      this.options.onRollback?.();
      return;
    }
  }

  private startProbe(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setInterval(() => {
      if (this.probing) return;
      this.probing = true;
      this.enqueue(() => this.probe()).finally(() => {
        this.probing = false;
      });
    }, this.probeInterval);
    this.probeTimer.unref();
  }

  private stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** Tries to write + fsync a no-op record at the durable offset; on success accepts writes again. */
  private async probe(): Promise<void> {
    const failure = this.failure;
    if (!failure || this.closed) {
      this.stopProbe();
      return;
    }
    const file = this.currentFile();
    try {
      await this.restoreDiskState();
      this.options.faults?.beforeWrite?.(file);
      this.size = await writeFully(this.fh, encodeRecord({ op: 'noop', probe: new Date() }), this.durable);
      this.options.faults?.beforeSync?.(file);
      await this.fh.datasync();
      this.durable = this.size;
    } catch (err) {
      this.size = this.durable;
      this.truncations.set(this.gen, this.durable);
      this.lastError = journalWriteError(err, file).message;
      return;
    }
    this.failure = undefined;
    this.stopProbe();
    this.logger?.info?.(`embedded-mongo: the journal ${file} can be written again after ${Date.now() - failure.since.getTime()} ms; accepting writes`);
  }

  /** Snapshot the current state and start a fresh journal. Never rejects (a failure is logged and retried later). */
  compact(): Promise<void> {
    this.compacting ??= this.doCompact()
      .catch((err: unknown) => {
        this.compactRetryAt = Date.now() + this.compactRetry;
        this.logger?.warn?.(`embedded-mongo: compaction failed, nothing was lost, retrying in ${this.compactRetry} ms: ${(err as Error).message}`);
      })
      .finally(() => {
        this.compacting = undefined;
      });
    return this.compacting;
  }

  private async doCompact(): Promise<void> {
    if (this.failure || this.closed) return;
    const newGen = this.gen + 1;
    const newName = journalName(newGen);
    const faults = this.options.faults;
    const newFh = await createJournal(this.dir, newGen, faults?.beforeWrite && (() => faults.beforeWrite!(path.join(this.dir, `${newName}.tmp`))));
    let snapshot: CapturedSnapshot | undefined;
    let cutBytes = 0;
    await this.enqueue(async () => {
      await this.flushLoop();
      if (this.failure || this.closed) return;
      // Synchronous cut: the snapshot is the state after everything in the older journals.
      snapshot = captureSnapshot(this.catalog, newGen);
      cutBytes = this.unsnapshotted;
      const oldFh = this.fh;
      this.fh = newFh;
      this.gen = newGen;
      this.size = this.durable = FILE_HEADER_BYTES;
      await oldFh.close().catch(() => undefined);
    });
    if (!snapshot) {
      await newFh.close().catch(() => undefined);
      if (this.gen !== newGen) await rm(path.join(this.dir, newName), { force: true }).catch(() => undefined);
      return;
    }
    try {
      // Written through one reused chunk: the documents are copied from where they are stored as the file is written.
      const chunks = snapshot.chunks(SNAPSHOT_WRITE_CHUNK, true);
      await writeFileAtomically(this.dir, SNAPSHOT_TMP, SNAPSHOT, chunks, faults?.beforeWrite && (() => faults.beforeWrite!(path.join(this.dir, SNAPSHOT_TMP))));
    } finally {
      // The slabs the snapshot kept (those the store let go of meanwhile) are garbage once it is
      // written: noted now, so that the idle collector's full collection comes after the write.
      noteReleased(SNAPSHOT_WRITE_CHUNK);
    }
    this.unsnapshotted = Math.max(0, this.unsnapshotted - cutBytes);
    for (const name of await readdir(this.dir)) {
      const g = parseJournalName(name);
      if (g !== undefined && g < newGen) await rm(path.join(this.dir, name), { force: true });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.shrinkTimer) clearTimeout(this.shrinkTimer);
    this.shrinkTimer = undefined;
    if (this.compacting) await this.compacting;
    await this.enqueue(() => this.flushLoop());
    this.closed = true;
    this.stopProbe();
    this.catalog.listener = null;
    await this.enqueue(() => this.fh.close());
    await this.lock.release();
  }
}
