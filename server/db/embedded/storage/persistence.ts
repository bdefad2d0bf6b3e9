/**
 * Durability: a write-ahead journal of applied changes plus periodic snapshots.
 *
 * - Every change is appended (in memory) to the current journal as it is applied; a group commit
 *   writes and fsyncs the batch within GROUP_COMMIT_MS. `sync()` (used for `j: true` write
 *   concerns) writes and fsyncs immediately and resolves once the data is on disk.
 * - Files: `snapshot.bin` (state as of the start of journal generation G) and `journal-<gen>.log`.
 *   Startup loads the snapshot and replays every journal with gen ≥ G in order; a torn last record
 *   is ignored (and truncated away).
 * - Compaction: switch to a new journal generation, write the state to `snapshot.tmp`, fsync,
 *   rename over `snapshot.bin`, then delete older journals. A crash at any point leaves either the
 *   old snapshot + all journals or the new snapshot + the new journal.
 */
import { closeSync, openSync, fsyncSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../server.js';
import type { Doc } from '../values.js';
import type { Catalog } from './catalog.js';
import type { ChangeOp } from './collection.js';
import { encodeRecord, readRecords } from './records.js';

export const GROUP_COMMIT_MS = 50;
export const COMPACT_THRESHOLD_BYTES = 64 * 1024 * 1024;

export interface PersistenceOptions {
  /** Compact once the journal grows past this many bytes. */
  compactThresholdBytes?: number;
}
const SNAPSHOT = 'snapshot.bin';
const SNAPSHOT_TMP = 'snapshot.tmp';
const LOCK = 'embedded-mongo.lock';

function journalName(gen: number): string {
  return `journal-${String(gen).padStart(8, '0')}.log`;
}

function parseJournalName(name: string): number | undefined {
  const m = /^journal-(\d+)\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function fsyncDir(dir: string): void {
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

export class Persistence {
  private pending: Buffer[] = [];
  private unsynced = false;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private journalBytes = 0;
  private compacting: Promise<void> | undefined;
  private closed = false;
  private compactThreshold = COMPACT_THRESHOLD_BYTES;

  private constructor(
    private readonly dir: string,
    private readonly catalog: Catalog,
    private readonly logger: Logger | undefined,
    private gen: number,
    private fh: FileHandle,
  ) {}

  static async open(dir: string, catalog: Catalog, logger?: Logger, options: PersistenceOptions = {}): Promise<Persistence> {
    await mkdir(dir, { recursive: true });
    await acquireLock(dir);
    const started = Date.now();
    let snapshotGen = 0;
    let restored = 0;
    try {
      const snap = await readFile(path.join(dir, SNAPSHOT));
      const { records, torn } = readRecords(snap);
      const head = records[0];
      const tail = records[records.length - 1];
      if (!head || head.snapshot !== 1 || !tail || tail.end !== 1 || torn) {
        throw new Error(`snapshot ${path.join(dir, SNAPSHOT)} is incomplete or corrupt`);
      }
      snapshotGen = Number(head.gen);
      for (const r of records.slice(1, -1)) catalog.apply(r as unknown as ChangeOp);
      restored += records.length - 2;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }

    const gens = (await readdir(dir))
      .map(parseJournalName)
      .filter((g): g is number => g !== undefined && g >= snapshotGen)
      .sort((a, b) => a - b);
    let replayedBytes = 0;
    for (const g of gens) {
      const file = path.join(dir, journalName(g));
      const buf = await readFile(file);
      const { records, validLength, torn } = readRecords(buf);
      for (const r of records) catalog.apply(r as unknown as ChangeOp);
      restored += records.length;
      replayedBytes += validLength;
      if (torn) {
        logger?.warn?.(`embedded-mongo: ignoring ${buf.length - validLength} torn bytes at the end of ${file}`);
        await truncate(file, validLength);
      }
    }
    const gen = Math.max(snapshotGen, gens[gens.length - 1] ?? 0);
    const fh = await open(path.join(dir, journalName(gen)), 'a');
    const p = new Persistence(dir, catalog, logger, gen, fh);
    p.journalBytes = replayedBytes;
    p.compactThreshold = options.compactThresholdBytes ?? COMPACT_THRESHOLD_BYTES;
    catalog.listener = (change) => p.append(change);
    logger?.info?.(`embedded-mongo: restored ${restored} records from ${dir} in ${Date.now() - started} ms`);
    if (replayedBytes > 0) await p.compact();
    return p;
  }

  private append(change: ChangeOp): void {
    if (this.closed) return;
    const rec = encodeRecord(change as unknown as Doc);
    this.pending.push(rec);
    this.journalBytes += rec.length;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.sync().catch((err: unknown) => this.logger?.error?.(`embedded-mongo: journal write failed: ${(err as Error).message}`));
      }, GROUP_COMMIT_MS);
    }
    if (this.journalBytes > this.compactThreshold && !this.compacting) {
      this.compact().catch((err: unknown) => this.logger?.error?.(`embedded-mongo: compaction failed: ${(err as Error).message}`));
    }
  }

  /** Writes and fsyncs everything appended so far. */
  sync(): Promise<void> {
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async flushOnce(): Promise<void> {
    if (this.pending.length === 0 && !this.unsynced) return;
    const bufs = this.pending;
    this.pending = [];
    const fh = this.fh;
    if (bufs.length) {
      this.unsynced = true;
      await fh.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
    }
    await fh.datasync();
    this.unsynced = false;
  }

  /** Snapshot the current state and start a fresh journal. */
  compact(): Promise<void> {
    this.compacting ??= this.doCompact().finally(() => {
      this.compacting = undefined;
    });
    return this.compacting;
  }

  private async doCompact(): Promise<void> {
    const newGen = this.gen + 1;
    const newFh = await open(path.join(this.dir, journalName(newGen)), 'a');
    // Synchronous part (no await): cut the journal and capture the state at exactly this point.
    const oldPending = this.pending;
    this.pending = [];
    const oldFh = this.fh;
    const snapshot = this.encodeSnapshot(newGen);
    this.gen = newGen;
    this.journalBytes = 0;
    this.fh = newFh;
    // Records appended before the cut still belong to the old journal.
    const flushOld = this.chain.then(async () => {
      if (oldPending.length) await oldFh.write(Buffer.concat(oldPending));
      await oldFh.datasync();
      await oldFh.close();
    });
    this.chain = flushOld.catch(() => undefined);
    await flushOld;
    const tmp = path.join(this.dir, SNAPSHOT_TMP);
    const fh = await open(tmp, 'w');
    try {
      for (const chunk of snapshot) await fh.write(chunk);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(this.dir, SNAPSHOT));
    fsyncDir(this.dir);
    for (const name of await readdir(this.dir)) {
      const g = parseJournalName(name);
      if (g !== undefined && g < newGen) await rm(path.join(this.dir, name), { force: true });
    }
  }

  private encodeSnapshot(gen: number): Buffer[] {
    const out: Buffer[] = [encodeRecord({ snapshot: 1, gen, createdAt: new Date() })];
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const push = (doc: Doc) => {
      const rec = encodeRecord(doc);
      batch.push(rec);
      batchBytes += rec.length;
      if (batchBytes > 4 * 1024 * 1024) {
        out.push(Buffer.concat(batch));
        batch = [];
        batchBytes = 0;
      }
    };
    let count = 0;
    for (const [db, colls] of this.catalog.dbs) {
      for (const coll of colls.values()) {
        push({ op: 'createColl', db, coll: coll.name, options: coll.options, uuid: coll.uuid });
        for (const spec of coll.indexSpecs().slice(1)) push({ op: 'createIndex', db, coll: coll.name, spec });
        for (const doc of coll.all()) {
          push({ op: 'put', db, coll: coll.name, doc });
          count++;
        }
      }
    }
    if (batch.length) out.push(Buffer.concat(batch));
    out.push(encodeRecord({ end: 1, count }));
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.compacting) await this.compacting.catch(() => undefined);
    await this.sync();
    this.closed = true;
    this.catalog.listener = null;
    await this.fh.close();
    await rm(path.join(this.dir, LOCK), { force: true });
  }
}

async function acquireLock(dir: string): Promise<void> {
  const lock = path.join(dir, LOCK);
  try {
    const pid = Number((await readFile(lock, 'utf8')).trim());
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new Error(`data directory ${dir} is in use by process ${pid}`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await writeFile(lock, String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
