/**
 * Measures the embedded engine's write cost, in one run:
 *
 * 1. Durable vs non-durable guarded updates: N concurrent clients (default 32), each doing
 *    `findOneAndUpdate({ _id, n: { $lt: limit } }, { $inc: { n: 1 } })` on its own document, with
 *    the write concern `{ w: 1, j: true }` (acknowledged after the fsync holding it) and
 *    `{ w: 1 }` (group-committed within 50 ms) in interleaved rounds; then the same with one
 *    client (sequential latency per update).
 * 2. A small change to documents of 1 KB, 70 KB and 1.5 MB: `$inc` of one nested field of one
 *    element of an array of sub-documents, found with `$elemMatch`, returning a few fields.
 *
 * The engine runs in its own process (as `npm run db` runs it) on a temporary data directory and is
 * driven over the wire with the official `mongodb` driver. Besides throughput it reports the
 * engine's CPU time per operation (from /proc/<pid>/stat).
 *
 *   npx tsx server/db/embedded/bench-durable.ts [--duration 3] [--rounds 3] [--connections 32]
 *       [--only durable|large] [--cpu-prof <dir>]   (a V8 CPU profile of the engine process)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { calculateObjectSize } from 'bson';
import { MongoClient, type Collection, type Document, type WriteConcernSettings } from 'mongodb';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const DURATION_MS = Number(args.duration) * 1000;
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const LIMIT = 1_000_000_000;
const CLK_TCK = 100;

const DURABLE: WriteConcernSettings = { w: 1, j: true };
const NOT_DURABLE: WriteConcernSettings = { w: 1 };

interface Engine {
  child: ChildProcess;
  uri: string;
  dataDir: string;
}

function startEngine(): Promise<Engine> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-durable-'));
  const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.ts');
  const nodeArgs = ['--import', 'tsx'];
  if (args['cpu-prof']) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', path.resolve(args['cpu-prof']));
  // As `npm run db` runs it.
  const child = spawn(process.execPath, [...nodeArgs, cli, '--port', '0', '--dbpath', dataDir, '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' } });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, uri: m[1]!, dataDir });
    });
    child.once('exit', (code) => reject(new Error(`engine exited with ${code}: ${out}`)));
  });
}

async function stopEngine(engine: Engine): Promise<void> {
  const exited = new Promise((resolve) => engine.child.once('exit', resolve));
  engine.child.kill('SIGTERM');
  await exited;
  rmSync(engine.dataDir, { recursive: true, force: true });
}

/** CPU time (user + system) the process used so far, in microseconds. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

interface RoundResult {
  ops: number;
  opsPerSec: number;
  /** Mean latency per operation (µs). */
  latencyUs: number;
  /** Engine CPU per operation (µs). */
  engineCpuUs: number;
}

/** Runs `op(worker)` in `workers` concurrent loops for DURATION_MS. */
async function round(pid: number, workers: number, op: (worker: number) => Promise<unknown>): Promise<RoundResult> {
  const cpu0 = cpuMicros(pid);
  const t0 = performance.now();
  const end = t0 + DURATION_MS;
  let ops = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < end) {
        await op(w);
        ops++;
      }
    }),
  );
  const elapsed = performance.now() - t0;
  const cpu = cpuMicros(pid) - cpu0;
  return { ops, opsPerSec: (ops * 1000) / elapsed, latencyUs: (elapsed * 1000 * workers) / ops, engineCpuUs: cpu / ops };
}

function fmt(r: RoundResult): string {
  return `${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s, ${Math.round(r.latencyUs)} µs per op, engine CPU ${Math.round(r.engineCpuUs)} µs per op`;
}

function best(results: RoundResult[]): RoundResult {
  return results.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
}

async function durableWrites(client: MongoClient, pid: number): Promise<void> {
  const db = client.db('bench');
  const docs = Array.from({ length: CONNECTIONS }, (_, i) => ({ _id: i, n: 0 }));
  await db.collection<{ _id: number; n: number }>('counters').insertMany(docs);
  const coll = (wc: WriteConcernSettings) => db.collection<{ _id: number; n: number }>('counters', { writeConcern: wc });
  const guarded = (c: Collection<{ _id: number; n: number }>) => (w: number) =>
    c.findOneAndUpdate({ _id: w, n: { $lt: LIMIT } }, { $inc: { n: 1 } }, { returnDocument: 'after' });
  const modes = [
    { name: 'j: true ', op: guarded(coll(DURABLE)) },
    { name: 'j: false', op: guarded(coll(NOT_DURABLE)) },
  ];
  for (const [label, workers] of [
    [`${CONNECTIONS} clients`, CONNECTIONS],
    ['1 client', 1],
  ] as const) {
    await round(pid, workers, modes[1]!.op); // warm-up
    const results = new Map<string, RoundResult[]>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const m of r % 2 === 0 ? modes : [...modes].reverse()) {
        const res = await round(pid, workers, m.op);
        console.log(`  ${label}, ${m.name}, round ${r + 1}: ${fmt(res)}`);
        results.set(m.name, [...(results.get(m.name) ?? []), res]);
      }
    }
    const d = best(results.get(modes[0]!.name)!);
    const n = best(results.get(modes[1]!.name)!);
    console.log(`guarded updates, ${label} (best of ${ROUNDS}):`);
    console.log(`  j: true   ${fmt(d)}`);
    console.log(`  j: false  ${fmt(n)}`);
    console.log(`  durable ÷ non-durable: ${((d.opsPerSec / n.opsPerSec) * 100).toFixed(0)} %`);
  }
}

interface Item {
  name: string;
  limit: number;
  used: number;
  since: Date;
  tag: string;
}

function largeDoc(id: number, items: number, pad: number): Document & { _id: number } {
  const list: Item[] = Array.from({ length: items }, (_, i) => ({ name: `item-${i}`, limit: LIMIT, used: 0, since: new Date(0), tag: 'x'.repeat(pad) }));
  return { _id: id, key: `key-${id}`, status: 'active', total: 0, owner: { name: 'owner', email: 'owner@example.com' }, items: list };
}

async function largeDocuments(client: MongoClient, pid: number): Promise<void> {
  const db = client.db('bench');
  const shapes = [
    { label: '1 KB', items: 4, pad: 150 },
    { label: '70 KB', items: 200, pad: 290 },
    { label: '1.5 MB', items: 10_000, pad: 95 },
  ];
  const results = new Map<string, RoundResult[]>();
  const ops = new Map<string, (w: number) => Promise<unknown>>();
  for (const [s, shape] of shapes.entries()) {
    const name = `docs${s}`;
    const c = db.collection<Document & { _id: number }>(name);
    for (let i = 0; i < CONNECTIONS; i++) await c.insertOne(largeDoc(i, shape.items, shape.pad));
    const size = calculateObjectSize(largeDoc(0, shape.items, shape.pad));
    const label = `${shape.label} (${shape.items} items, ${size.toLocaleString('en-US')} bytes)`;
    const target = `item-${Math.floor(shape.items / 2)}`;
    const wc = db.collection<Document & { _id: number }>(name, { writeConcern: DURABLE });
    ops.set(label, (w) =>
      wc.findOneAndUpdate(
        { _id: w, items: { $elemMatch: { name: target, used: { $lt: LIMIT } } } },
        { $inc: { 'items.$.used': 1 } },
        { projection: { _id: 0, key: 1, status: 1, 'items.$': 1 }, returnDocument: 'after' },
      ),
    );
  }
  for (const op of ops.values()) await round(pid, CONNECTIONS, op); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [label, op] of r % 2 === 0 ? [...ops] : [...ops].reverse()) {
      const res = await round(pid, CONNECTIONS, op);
      console.log(`  ${label}, round ${r + 1}: ${fmt(res)}`);
      results.set(label, [...(results.get(label) ?? []), res]);
    }
  }
  console.log(`one nested $inc found by $elemMatch, ${CONNECTIONS} clients, j: true (best of ${ROUNDS}):`);
  const base = best([...results.values()][0]!);
  for (const [label, rs] of results) {
    const b = best(rs);
    console.log(`  ${label}: ${fmt(b)}; ÷ 1 KB: ${((b.opsPerSec / base.opsPerSec) * 100).toFixed(0)} %`);
  }
}

async function main(): Promise<void> {
  const engine = await startEngine();
  const pid = engine.child.pid!;
  const client = new MongoClient(engine.uri, { maxPoolSize: CONNECTIONS, minPoolSize: CONNECTIONS });
  try {
    await client.connect();
    console.log(`engine pid ${pid}, ${os.cpus().length} cores, node ${process.version}, ${ROUNDS} interleaved rounds of ${DURATION_MS / 1000} s`);
    if (args.only !== 'large') await durableWrites(client, pid);
    if (args.only !== 'durable') await largeDocuments(client, pid);
  } finally {
    await client.close();
    await stopEngine(engine);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
