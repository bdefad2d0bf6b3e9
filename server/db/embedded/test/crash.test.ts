/**
 * ENGINE-ONLY crash-recovery tests (skipped when MONGODB_URI is set): the engine runs as a child
 * process on a temporary data directory and is killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

interface Running {
  child: ChildProcess;
  uri: string;
}

function startEngine(dataDir: string): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--dbpath', dataDir, '--quiet'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`engine did not start: ${out} ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, uri: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`engine exited with ${code}: ${out} ${err}`));
    });
  });
}

function kill(r: Running, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
    r.child.once('exit', () => resolve());
    r.child.kill(signal);
  });
}

async function withClient<T>(uri: string, fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.close(true);
  }
}

async function latestJournal(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => n.startsWith('journal-')).sort();
  return path.join(dir, names[names.length - 1]!);
}

describe.skipIf(!!process.env.MONGODB_URI)('crash recovery (engine only)', () => {
  let dir: string;
  const running: Running[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-crash-'));
  });

  afterAll(async () => {
    for (const r of running) await kill(r, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<Running> {
    const r = await startEngine(dir);
    running.push(r);
    return r;
  }

  it('keeps every acknowledged j:true write after kill -9', async () => {
    const first = await start();
    await withClient(first.uri, async (client) => {
      const coll = client.db('crash').collection('docs');
      await coll.createIndex({ n: 1 }, { unique: true });
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            coll.insertOne({ n: batch * 100 + i, payload: 'x'.repeat(50) }, { writeConcern: { w: 1, j: true } }),
          ),
        );
      }
    });
    await kill(first, 'SIGKILL');

    const second = await start();
    await withClient(second.uri, async (client) => {
      const coll = client.db('crash').collection('docs');
      expect(await coll.countDocuments()).toBe(1000);
      expect(await coll.findOne({ n: 999 })).toMatchObject({ n: 999 });
      const indexes = await coll.indexes();
      expect(indexes.find((i) => i.name === 'n_1')?.unique).toBe(true);
      await expect(coll.insertOne({ n: 5 })).rejects.toMatchObject({ code: 11000 });
    });
    await kill(second, 'SIGKILL');
  });

  it('rebuilds a large document exactly from the small changes journaled for it, after kill -9', async () => {
    const J = { writeConcern: { w: 1, j: true } } as const;
    const first = await start();
    const expected = await withClient(first.uri, async (client) => {
      const coll = client.db('crash').collection('large');
      const items = Array.from({ length: 2000 }, (_, i) => ({ name: `item-${i}`, used: 0, pad: 'p'.repeat(100) }));
      await coll.insertOne({ _id: 'doc' as never, total: 0, owner: { name: 'o', tags: ['a'] }, items }, J);
      // Concurrent durable changes of one field each, then changes of the shape and order.
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          coll.updateOne({ _id: 'doc' as never, items: { $elemMatch: { name: `item-${i * 7}` } } }, { $inc: { 'items.$.used': 1, total: 1 } }, J),
        ),
      );
      await coll.updateOne({ _id: 'doc' as never }, { $push: { items: { $each: [{ name: 'first' }], $position: 0 } } } as never, J);
      await coll.updateOne({ _id: 'doc' as never }, { $pull: { items: { name: { $in: ['item-5', 'item-6'] } } } } as never, J);
      await coll.updateOne({ _id: 'doc' as never }, { $rename: { total: 'sum' }, $unset: { 'owner.tags': '' }, $set: { 'owner.since': new Date(5) } }, J);
      return coll.findOne({ _id: 'doc' as never });
    });
    // The 203 changes journaled a few hundred bytes each after the ~270 KB insert, not the whole document each time.
    expect((await stat(await latestJournal(dir))).size).toBeLessThan(400_000);
    await kill(first, 'SIGKILL');

    const second = await start();
    await withClient(second.uri, async (client) => {
      const doc = await client.db('crash').collection('large').findOne({ _id: 'doc' as never });
      expect(doc).toEqual(expected);
      expect(Object.keys(doc!)).toEqual(['_id', 'owner', 'items', 'sum']);
      expect(doc!.sum).toBe(200);
    });
    await kill(second, 'SIGKILL');
  });

  it('persists default (j:false) writes within the group-commit window', async () => {
    const r = await start();
    await withClient(r.uri, async (client) => {
      const coll = client.db('crash').collection('lazy');
      await coll.insertMany(Array.from({ length: 50 }, (_, i) => ({ i })));
      await coll.updateOne({ i: 0 }, { $set: { touched: true } });
      await new Promise((res) => setTimeout(res, 400));
    });
    await kill(r, 'SIGKILL');
    const again = await start();
    await withClient(again.uri, async (client) => {
      const coll = client.db('crash').collection('lazy');
      expect(await coll.countDocuments()).toBe(50);
      expect(await coll.findOne({ i: 0 })).toMatchObject({ touched: true });
      expect(await client.db('crash').collection('docs').countDocuments()).toBe(1000);
    });
    await kill(again, 'SIGKILL');
  });

  it('starts after garbage is appended to the journal and keeps the intact records', async () => {
    const r = await start();
    await withClient(r.uri, async (client) => {
      const coll = client.db('crash').collection('tail');
      for (let i = 0; i < 5; i++) await coll.insertOne({ i }, { writeConcern: { j: true } });
    });
    await kill(r, 'SIGKILL');
    const journal = await latestJournal(dir);
    expect((await stat(journal)).size).toBeGreaterThan(0);
    await appendFile(journal, Buffer.from([0x40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));

    const again = await start();
    await withClient(again.uri, async (client) => {
      expect(await client.db('crash').collection('tail').countDocuments()).toBe(5);
      expect(await client.db('crash').collection('docs').countDocuments()).toBe(1000);
    });
    await kill(again, 'SIGKILL');
  });

  it('starts after the last journal record is torn (truncated) and keeps the records before it', async () => {
    const r = await start();
    await withClient(r.uri, async (client) => {
      const coll = client.db('crash').collection('torn');
      for (let i = 0; i < 5; i++) await coll.insertOne({ i }, { writeConcern: { j: true } });
    });
    await kill(r, 'SIGKILL');
    const journal = await latestJournal(dir);
    const size = (await stat(journal)).size;
    await truncate(journal, size - 3);

    const again = await start();
    await withClient(again.uri, async (client) => {
      const torn = client.db('crash').collection('torn');
      expect(await torn.countDocuments()).toBe(4);
      expect(await torn.distinct('i')).toEqual([0, 1, 2, 3]);
      expect(await client.db('crash').collection('tail').countDocuments()).toBe(5);
    });
    await kill(again, 'SIGTERM');
  });

  it('compacts on start-up so the journal does not grow without bound', async () => {
    const r = await start();
    await withClient(r.uri, async (client) => {
      expect(await client.db('crash').collection('docs').countDocuments()).toBe(1000);
    });
    await kill(r, 'SIGTERM');
    const names = await readdir(dir);
    expect(names.filter((n) => n.startsWith('journal-'))).toHaveLength(1);
    expect(names).toContain('snapshot.bin');
    // A fresh journal holds only its 16-byte file header (a valid journal is never 0 bytes).
    expect((await stat(await latestJournal(dir))).size).toBe(16);
  });
});
