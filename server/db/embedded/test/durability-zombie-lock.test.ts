/**
 * ENGINE-ONLY (skipped when MONGODB_URI is set): a restart after `kill -9` is never refused, even
 * when the killed engine stays a zombie (its parent never reaps it, as in a container without
 * init) or its PID was reused by another process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../index.js';
import { Catalog } from '../storage/catalog.js';
import { Persistence } from '../storage/persistence.js';

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
const INDEX = fileURLToPath(new URL('../index.ts', import.meta.url));

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

describe.skipIf(!!process.env.MONGODB_URI)('data directory lock after kill -9 (engine only)', () => {
  let tmp: string;
  let holder: ChildProcess | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-zombie-'));
  });

  afterAll(async () => {
    if (holder?.pid && holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    await rm(tmp, { recursive: true, force: true });
  });

  it('starts on a directory whose previous engine is a zombie, with every j:true write', async (ctx) => {
    if (!existsSync('/proc/self/stat')) ctx.skip('no /proc: zombies cannot be told apart here');
    const dataDir = path.join(tmp, 'db');
    const script = path.join(tmp, 'engine.mts');
    await writeFile(
      script,
      `import { startEmbeddedMongo } from ${JSON.stringify(INDEX)};
const engine = await startEmbeddedMongo({ dataDir: ${JSON.stringify(dataDir)} });
console.log('ready ' + process.pid + ' ' + engine.uri);
setInterval(() => undefined, 1000);
`,
    );
    // The backgrounded node's parent becomes \`sleep\`, which never reaps it.
    holder = spawn('sh', ['-c', `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(script)} & exec sleep 60`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { pid, uri } = await new Promise<{ pid: number; uri: string }>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`engine did not start: ${out} ${err}`)), 20_000);
      holder!.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      holder!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\d+) (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve({ pid: Number(m[1]), uri: m[2]! });
        }
      });
    });
    const client = new MongoClient(uri);
    const coll = client.db('z').collection('docs');
    for (let i = 0; i < 20; i++) await coll.insertOne({ i }, { writeConcern: { w: 'majority', j: true } });
    await client.close(true);

    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (procState(pid) !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(procState(pid)).toBe('Z');
    expect(readFileSync(path.join(dataDir, 'embedded-mongo.lock'), 'utf8')).toContain(String(pid));

    const engine = await startEmbeddedMongo({ dataDir });
    const c2 = new MongoClient(engine.uri);
    expect(await c2.db('z').collection('docs').countDocuments()).toBe(20);
    await c2.close();
    await engine.stop();
  }, 40_000);

  it('treats a lock whose PID was reused (start time differs) as free, and a live holder as in use', async () => {
    const dataDir = path.join(tmp, 'reused');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dataDir, { recursive: true });
    const lock = path.join(dataDir, 'embedded-mongo.lock');
    await writeFile(lock, JSON.stringify({ pid: process.ppid, startTime: '1' }));
    const p = await Persistence.open(dataDir, new Catalog());
    await p.close();
    const parentStart = existsSync(`/proc/${process.ppid}/stat`)
      ? readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!
      : undefined;
    await writeFile(lock, JSON.stringify({ pid: process.ppid, ...(parentStart ? { startTime: parentStart } : {}) }));
    await expect(Persistence.open(dataDir, new Catalog())).rejects.toThrow(/in use by process/);
    // The refused start left the holder's lock alone.
    expect(readFileSync(lock, 'utf8')).toContain(String(process.ppid));
  });
});
