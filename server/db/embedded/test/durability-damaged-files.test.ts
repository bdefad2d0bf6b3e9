/**
 * ENGINE-ONLY (skipped when MONGODB_URI is set): damaged data files are refused at start-up with
 * the file and byte offset, and nothing in the directory is modified; only a torn tail is dropped;
 * `repairDataDir` / `npm run db -- --repair` salvage what can be read.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm, stat, truncate, appendFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairDataDir, startEmbeddedMongo } from '../index.js';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
const TOTAL = 300;

async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const p = path.join(dir, name);
    if ((await stat(p)).isDirectory()) continue;
    out[name] = createHash('sha256').update(await readFile(p)).digest('hex');
  }
  return out;
}

async function journalOf(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => /^journal-\d+\.log$/.test(n)).sort();
  return path.join(dir, names[names.length - 1]!);
}

/** Offsets of the records of a v2 journal (after its 16-byte header). */
function recordOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let o = 16; o + 12 <= buf.length; o += 12 + buf.readUInt32LE(o)) out.push(o);
  return out;
}

async function flip(file: string, offset: number, mask = 0xff): Promise<void> {
  const buf = await readFile(file);
  buf[offset] = buf[offset]! ^ mask;
  await writeFile(file, buf);
}

async function docsIn(dir: string): Promise<number[]> {
  const engine = await startEmbeddedMongo({ dataDir: dir });
  const client = new MongoClient(engine.uri);
  try {
    const docs = await client.db('dmg').collection<{ n: number }>('docs').find({}, { projection: { n: 1 } }).toArray();
    return docs.map((d) => d.n).sort((a, b) => a - b);
  } finally {
    await client.close();
    await engine.stop();
  }
}

describe.skipIf(!!process.env.MONGODB_URI)('damaged data files (engine only)', () => {
  let root: string;
  let base: string;
  let copies = 0;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-damaged-'));
    base = path.join(root, 'base');
    // 200 records end up in the snapshot (start-up compacts), the last 100 in the journal.
    for (const [from, to] of [[0, 200], [200, TOTAL]] as const) {
      const engine = await startEmbeddedMongo({ dataDir: base });
      const client = new MongoClient(engine.uri);
      const coll = client.db('dmg').collection('docs');
      for (let i = from; i < to; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, k) => coll.insertOne({ n: i + k, pad: 'p'.repeat(100) }, { writeConcern: { w: 'majority', j: true } })),
        );
      }
      await client.close();
      await engine.stop();
    }
    const names = await readdir(base);
    expect(names).toContain('snapshot.bin');
    expect((await stat(path.join(base, 'snapshot.bin'))).size).toBeGreaterThan(10_000);
    expect((await stat(await journalOf(base))).size).toBeGreaterThan(5_000);
  }, 30_000);

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function copy(): Promise<string> {
    const d = path.join(root, `case-${++copies}`);
    await cp(base, d, { recursive: true });
    return d;
  }

  async function expectRefused(dir: string, file: RegExp): Promise<string> {
    const before = await hashes(dir);
    const err = await startEmbeddedMongo({ dataDir: dir }).then(
      async (e) => {
        await e.stop();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(err, 'start-up must fail').toBeInstanceOf(Error);
    expect(err!.message).toMatch(file);
    expect(err!.message).toMatch(/offset \d+/);
    expect(await hashes(dir)).toEqual(before);
    return err!.message;
  }

  it('the intact directory starts with every record', async () => {
    expect(await docsIn(await copy())).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
  });

  it('refuses a flipped byte in the middle of the journal, changing nothing', async () => {
    const dir = await copy();
    const journal = await journalOf(dir);
    await flip(journal, Math.floor((await stat(journal)).size / 2));
    await expectRefused(dir, /journal-\d+\.log/);
  });

  it('refuses a flipped byte near the start of the journal (offset 200)', async () => {
    const dir = await copy();
    await flip(await journalOf(dir), 200);
    await expectRefused(dir, /journal-\d+\.log/);
  });

  it('refuses a flipped length byte instead of taking it for a torn record', async () => {
    const dir = await copy();
    const journal = await journalOf(dir);
    const offsets = recordOffsets(await readFile(journal));
    expect(offsets.length).toBeGreaterThan(20);
    await flip(journal, offsets[10]! + 1, 0x40); // the length now runs past the end of the file
    const msg = await expectRefused(dir, /journal-\d+\.log/);
    expect(msg).toContain(`offset ${offsets[10]}`);
  });

  it('refuses a flipped bit near the start of the snapshot', async () => {
    const dir = await copy();
    await flip(path.join(dir, 'snapshot.bin'), 60, 0x04);
    await expectRefused(dir, /snapshot\.bin/);
  });

  it('refuses a deleted snapshot.bin when later journals exist', async () => {
    const dir = await copy();
    await rm(path.join(dir, 'snapshot.bin'));
    await expectRefused(dir, /snapshot\.bin/);
  });

  it('refuses a zero-length journal', async () => {
    const dir = await copy();
    await truncate(await journalOf(dir), 0);
    await expectRefused(dir, /journal-\d+\.log/);
  });

  it('refuses a missing journal generation', async () => {
    const dir = await copy();
    await rm(await journalOf(dir));
    await expectRefused(dir, /journal-\d+\.log/);
  });

  it('drops only a genuinely torn tail: a truncated last record', async () => {
    const dir = await copy();
    const journal = await journalOf(dir);
    await truncate(journal, (await stat(journal)).size - 3);
    const docs = await docsIn(dir);
    expect(docs).toEqual(Array.from({ length: TOTAL }, (_, i) => i).filter((n) => docs.includes(n)));
    expect(docs).toHaveLength(TOTAL - 1);
  });

  it('drops only a genuinely torn tail: zero bytes at the end', async () => {
    const dir = await copy();
    await appendFile(await journalOf(dir), Buffer.alloc(4096));
    expect(await docsIn(dir)).toHaveLength(TOTAL);
  });

  it('repairDataDir salvages around a damaged record and keeps the originals', async () => {
    const dir = await copy();
    const journal = await journalOf(dir);
    const offsets = recordOffsets(await readFile(journal));
    await flip(journal, offsets[5]! + 20); // inside the payload of one record
    const damaged = await hashes(dir);
    const report = await repairDataDir(dir);
    const entry = report.files.find((f) => f.file === journal)!;
    expect(entry.dropped).toHaveLength(1);
    expect(entry.dropped[0]).toMatchObject({ from: offsets[5], to: offsets[6] });
    expect(path.basename(report.damagedDir)).toMatch(/^damaged-/);
    const kept = await hashes(report.damagedDir);
    for (const [name, h] of Object.entries(damaged)) if (name !== 'embedded-mongo.lock') expect(kept[name]).toBe(h);
    const docs = await docsIn(dir);
    expect(docs).toHaveLength(TOTAL - 1);
    // A second start is as good as the first (the repaired directory is a normal one).
    expect(await docsIn(dir)).toEqual(docs);
  });

  it('npm run db refuses a damaged directory with a --repair hint; --repair salvages it and exits 0', async () => {
    const dir = await copy();
    await flip(path.join(dir, 'snapshot.bin'), 60, 0x04);
    const before = await hashes(dir);
    const refused = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--dbpath', dir, '--quiet'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/snapshot\.bin.*offset \d+/);
    expect(refused.stderr).toContain('--repair');
    expect(await hashes(dir)).toEqual(before);

    const repaired = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--repair', '--dbpath', dir], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(repaired.status, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/snapshot\.bin .*records recovered/);
    expect(repaired.stdout).toMatch(/dropped bytes \d+\.\.\d+/);
    const damagedDirs = (await readdir(dir)).filter((n) => n.startsWith('damaged-'));
    expect(damagedDirs).toHaveLength(1);
    expect(await readdir(path.join(dir, damagedDirs[0]!))).toContain('snapshot.bin');
    const docs = await docsIn(dir);
    expect(docs.length).toBeGreaterThanOrEqual(TOTAL - 2);
    expect(docs.length).toBeLessThan(TOTAL + 1);
  }, 45_000);
});
