/**
 * ENGINE-ONLY storage tests (use engine internals; skipped when MONGODB_URI is set):
 * journal compaction while running, recovery across compactions, the TTL monitor.
 */
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ObjectId } from 'bson';
import { afterEach, describe, expect, it } from 'vitest';
import { Catalog } from '../storage/catalog.js';
import { SNAPSHOT_READ_BYTES, loadSnapshot } from '../storage/datadir.js';
import { Persistence } from '../storage/persistence.js';
import { CorruptDataError } from '../storage/records.js';
import { TtlMonitor } from '../storage/ttl.js';
import { keyString } from '../values.js';

describe.skipIf(!!process.env.MONGODB_URI)('engine storage (engine only)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function tempDir(): Promise<string> {
    const d = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-storage-'));
    dirs.push(d);
    return d;
  }

  it('compacts the journal while running and recovers snapshot + journal', async () => {
    const dir = await tempDir();
    const catalog = new Catalog();
    const p = await Persistence.open(dir, catalog, undefined, { compactThresholdBytes: 20_000 });
    const coll = catalog.ensureCollection('db', 'c').coll;
    coll.createIndex({ key: { k: 1 }, name: 'k_1', unique: true });
    for (let i = 0; i < 2000; i++) coll.insert({ _id: new ObjectId(), k: i, pad: 'x'.repeat(20) });
    await p.compact();
    await p.sync();
    // Writes after the compaction land in the new journal.
    for (let i = 2000; i < 2100; i++) coll.insert({ _id: new ObjectId(), k: i });
    const first = coll.getById(coll.all().next().value!._id)!;
    coll.remove(first);
    await p.sync();
    const names = await readdir(dir);
    expect(names).toContain('snapshot.bin');
    expect(names.filter((n) => n.startsWith('journal-'))).toHaveLength(1);
    const journalSize = (await stat(path.join(dir, names.find((n) => n.startsWith('journal-'))!))).size;
    expect(journalSize).toBeLessThan(40_000);
    await p.close();

    const restored = new Catalog();
    const p2 = await Persistence.open(dir, restored);
    const c2 = restored.getCollection('db', 'c')!;
    expect(c2.size).toBe(2099);
    expect(c2.indexes.get('k_1')?.unique).toBe(true);
    expect(() => c2.insert({ _id: new ObjectId(), k: 5 })).toThrow(/E11000/);
    await p2.close();
  });

  it('restores a snapshot larger than its read window, with records across window ends and one larger than a window, and refuses it damaged in the middle', async () => {
    const dir = await tempDir();
    const catalog = new Catalog();
    const p = await Persistence.open(dir, catalog);
    const coll = catalog.ensureCollection('db', 'big').coll;
    coll.createIndex({ key: { k: 1 }, name: 'k_1' });
    const sizes = [...Array.from({ length: 30_000 }, (_, i) => 100 + (i % 700)), 5 * 1024 * 1024 + 17, ...Array.from({ length: 20_000 }, (_, i) => 50 + (i % 300))];
    sizes.forEach((n, k) => coll.insert({ _id: k, k, pad: 'y'.repeat(n) }));
    await p.compact();
    await p.close();
    const snapshot = path.join(dir, 'snapshot.bin');
    const { size } = await stat(snapshot);
    expect(size).toBeGreaterThan(3 * SNAPSHOT_READ_BYTES);

    const restored = new Catalog();
    const p2 = await Persistence.open(dir, restored);
    const c2 = restored.getCollection('db', 'big')!;
    expect(c2.size).toBe(sizes.length);
    sizes.forEach((n, k) => {
      const doc = c2.getById(k);
      if (doc?.k !== k || (doc.pad as string).length !== n) throw new Error(`document ${k}: ${JSON.stringify(doc)?.slice(0, 80)}`);
    });
    expect(c2.lookup(c2.indexes.get('k_1')!, [keyString(30_000)]).map((d) => (d.pad as string).length)).toEqual([5 * 1024 * 1024 + 17]);
    await p2.close();

    // A damaged byte past the first window: refused with the offset of the record it is in.
    const { open } = await import('node:fs/promises');
    const fh = await open(snapshot, 'r+');
    await fh.write(Buffer.from([0xee]), 0, 1, Math.floor(size / 2));
    await fh.close();
    const err = await Persistence.open(dir, new Catalog()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CorruptDataError);
    expect((err as CorruptDataError).file).toBe(snapshot);
    expect((err as CorruptDataError).offset).toBeGreaterThan(SNAPSHOT_READ_BYTES);
    expect((err as CorruptDataError).offset).toBeLessThanOrEqual(Math.floor(size / 2));
  });

  it('writes the state of its cut into a snapshot, whatever the collection does while the snapshot is being written', async () => {
    const dir = await tempDir();
    const catalog = new Catalog();
    let mutated = false;
    const p = await Persistence.open(dir, catalog, undefined, {
      faults: {
        beforeWrite(file) {
          if (mutated || !file.endsWith('snapshot.tmp')) return;
          mutated = true;
          // After the cut, before the first byte of the snapshot: delete and replace every document
          // (their slabs become garbage and are evacuated or dropped), insert new ones.
          const c = catalog.getCollection('db', 'cut')!;
          for (const d of [...c.all()]) {
            if ((d.k as number) % 2) c.remove(d);
            else c.replace(d, { ...d, pad: 'z'.repeat(900) });
          }
          for (let k = 0; k < 20_000; k++) c.insert({ _id: `new-${k}`, k, pad: 'w'.repeat(300) });
        },
      },
    });
    const coll = catalog.ensureCollection('db', 'cut').coll;
    for (let k = 0; k < 40_000; k++) coll.insert({ _id: k, k, pad: 'v'.repeat(200 + (k % 400)) });
    const before = [...coll.all()];
    await p.compact();
    expect(mutated).toBe(true);
    await p.close();

    const fromSnapshot = new Catalog();
    loadSnapshot(await readFile(path.join(dir, 'snapshot.bin')), 'snapshot.bin', fromSnapshot);
    const got = [...fromSnapshot.getCollection('db', 'cut')!.all()];
    expect(got.length).toBe(before.length);
    got.forEach((d, i) => {
      if (d._id !== before[i]!._id || d.pad !== before[i]!.pad) throw new Error(`document ${i} of the snapshot: ${JSON.stringify(d).slice(0, 80)}`);
    });
  });

  it('refuses a data directory held by a live process', async () => {
    const dir = await tempDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'embedded-mongo.lock'), String(process.ppid));
    await expect(Persistence.open(dir, new Catalog())).rejects.toThrow(/in use/);
  });

  it('the TTL monitor removes expired documents', () => {
    const catalog = new Catalog();
    const coll = catalog.ensureCollection('db', 'sessions').coll;
    coll.createIndex({ key: { expiresAt: 1 }, name: 'expiresAt_1', expireAfterSeconds: 60 });
    const now = Date.now();
    coll.insert({ _id: 1, expiresAt: new Date(now - 61_000) });
    coll.insert({ _id: 2, expiresAt: new Date(now - 30_000) });
    coll.insert({ _id: 3, expiresAt: 'not a date' });
    coll.insert({ _id: 4 });
    expect(new TtlMonitor(catalog).sweep(now)).toBe(1);
    expect([...coll.all()].map((d) => d._id)).toEqual([2, 3, 4]);
  });
});
