/**
 * `npm run bench -- engine-memory`: memory and start-up time of the embedded engine as its ledger grows
 * (#23). For each size of BENCH_ENGINE_MEMORY_SIZES (default 100000,1000000; add 5000000 for the large
 * row): starts the engine (compiled, its own process) on a fresh data directory, opens the app's
 * database on it (the app's models, so the app's indexes), inserts that many ledger entries shaped
 * as the app stores them (spread over 1,000 licenses, through the official driver), then measures:
 *
 * - RSS of the engine process after the load, once it has been idle for BENCH_ENGINE_MEMORY_SETTLE s
 *   (default 10);
 * - start-up time of a restart on that directory (SIGTERM, then spawn until "listening": node's
 *   own start, the snapshot load and the journal replay);
 * - RSS after the restart, settled the same way (and after the start-up compaction), and the restarted
 *   process's peak RSS (VmHWM);
 * - with each RSS, the engine's own breakdown (serverStatus.embeddedMemory: V8 heap, external buffers, slabs).
 *
 * Returns a table; bench/run.ts prints it and, unless BENCH_WRITE=0, writes it into BENCHMARKS.md
 * between the `bench:engine-memory` markers.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { ensureBuilt, rssOf, startEmbeddedDb } from './processes.js';
import { insertLedgerEntries, openBenchData } from './seed.js';

const SIZES = (process.env.BENCH_ENGINE_MEMORY_SIZES ?? '100000,1000000').split(',').map(Number).filter((n) => n > 0);
const SETTLE_SECONDS = Number(process.env.BENCH_ENGINE_MEMORY_SETTLE ?? 10);
/** Generous: the engine before #23 kept every document in its heap (about 3 KB per ledger entry). */
const ENGINE_ARGS = ['--max-old-space-size=16384'];

const started = Date.now();
const log = (text: string) => console.error(`[bench engine-memory ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${text}`);

interface MemoryRow {
  entries: number;
  loadSeconds: number;
  rssAfterLoad: number;
  startupSeconds: number;
  rssAfterRestart: number;
  /** The restarted process's peak RSS (VmHWM: start-up, its compaction, the idle seconds after). */
  peakRssRestart: number;
  dataDirBytes: number;
  afterLoad: Breakdown;
  afterRestart: Breakdown;
}

/** What the engine reports of its memory (serverStatus.embeddedMemory, bytes). */
interface Breakdown {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  slabBytes: number;
}

/** The engine's own account of its memory, read through the driver after the RSS was sampled. */
async function breakdownOf(uri: string): Promise<Breakdown> {
  const client = await MongoClient.connect(uri, { maxPoolSize: 1 });
  try {
    const status = await client.db('admin').command({ serverStatus: 1 });
    const m = status.embeddedMemory as Breakdown;
    log(`  engine: rss ${mbOf(m.rss)} MB, heapUsed ${mbOf(m.heapUsed)}, heapTotal ${mbOf(m.heapTotal)}, external ${mbOf(m.external)}, arrayBuffers ${mbOf(m.arrayBuffers)}, slabs ${mbOf(m.slabBytes)} (${JSON.stringify(status.embeddedMemory)})`);
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, slabBytes: m.slabBytes };
  } finally {
    await client.close();
  }
}

const mbOf = (b: number) => (b / 2 ** 20).toFixed(0);

/** RSS once the process has been idle for SETTLE_SECONDS (the lowest of the samples of the last 2 s). */
async function settledRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let t = 0; t < SETTLE_SECONDS * 4; t++) {
    await sleep(250);
    samples.push(rssOf(pid));
  }
  return Math.min(...samples.slice(-8));
}

/** Peak resident set size of a process so far (Linux VmHWM; 0 elsewhere). */
function peakRssOf(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) total += statSync(join(dir, name)).size;
  return total;
}

async function measureSize(entries: number): Promise<MemoryRow> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-engine-memory-'));
  try {
    let engine = await startEmbeddedDb(ENGINE_ARGS, dir);
    const data = await openBenchData(engine.uri, `bench_${randomBytes(4).toString('hex')}`, randomBytes(32).toString('base64'));
    let t = Date.now();
    await insertLedgerEntries(data, entries);
    const loadSeconds = (Date.now() - t) / 1000;
    const count = await data.db.models.LedgerEntry.estimatedDocumentCount();
    if (count !== entries) throw new Error(`expected ${entries} ledger entries, found ${count}`);
    await data.db.close();
    log(`${entries} entries: loaded in ${loadSeconds.toFixed(1)} s`);
    const rssAfterLoad = await settledRss(engine.child.process.pid!);
    log(`${entries} entries: RSS after load ${(rssAfterLoad / 2 ** 20).toFixed(0)} MB`);
    const afterLoad = await breakdownOf(engine.uri);
    await engine.child.stop();
    const dataDirBytes = dirBytes(dir);
    t = performance.now();
    engine = await startEmbeddedDb(ENGINE_ARGS, dir, 1_800_000);
    const startupSeconds = (performance.now() - t) / 1000;
    log(`${entries} entries: restart listening after ${startupSeconds.toFixed(2)} s (data directory ${(dataDirBytes / 2 ** 20).toFixed(0)} MB)`);
    const rssAfterRestart = await settledRss(engine.child.process.pid!);
    log(`${entries} entries: RSS after restart ${(rssAfterRestart / 2 ** 20).toFixed(0)} MB`);
    const peakRssRestart = peakRssOf(engine.child.process.pid!);
    log(`${entries} entries: peak RSS of the restarted engine ${(peakRssRestart / 2 ** 20).toFixed(0)} MB`);
    const afterRestart = await breakdownOf(engine.uri);
    await engine.child.stop();
    return { entries, loadSeconds, rssAfterLoad, startupSeconds, rssAfterRestart, peakRssRestart, dataDirBytes, afterLoad, afterRestart };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function memoryTable(rows: MemoryRow[]): string {
  const mb = mbOf;
  const parts = (b: Breakdown) => `${mb(b.heapUsed)} / ${mb(b.heapTotal)} / ${mb(b.external)} (${mb(b.slabBytes)})`;
  const lines = [
    '| Ledger entries | load s (driver insertMany) | engine RSS after load, MB | bytes per entry | heapUsed / heapTotal / external (of it slabs), MB, after load | data directory, MB | start-up s (restart: snapshot + journal) | engine RSS after restart, MB | peak RSS of the restarted engine, MB | heapUsed / heapTotal / external (slabs), MB, after restart |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.entries.toLocaleString('en-US')} | ${r.loadSeconds.toFixed(1)} | ${mb(r.rssAfterLoad)} | ${Math.round(r.rssAfterLoad / r.entries)} | ${parts(r.afterLoad)} | ${mb(r.dataDirBytes)} | ${r.startupSeconds.toFixed(2)} | ${mb(r.rssAfterRestart)} | ${mb(r.peakRssRestart)} | ${parts(r.afterRestart)} |`,
    );
  }
  return lines.join('\n');
}

/** The scenario's table for BENCHMARKS.md (bench/run.ts writes it between the `bench:engine-memory` markers). */
export async function runEngineMemory(): Promise<string> {
  ensureBuilt();
  const rows: MemoryRow[] = [];
  for (const size of SIZES) rows.push(await measureSize(size));
  return `${memoryTable(rows)}\n\nRun of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: \`BENCH_ENGINE_MEMORY_SIZES=${SIZES.join(',')} npm run bench -- engine-memory\`.`;
}
