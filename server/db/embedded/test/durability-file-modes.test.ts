/**
 * ENGINE-ONLY (skipped when MONGODB_URI is set): the data directory is private to the engine's user.
 * Every file the engine writes (snapshot, journals, the lock, a repair's copies) is 0600 and every
 * directory 0700. Files and directories already there with wider modes are narrowed when the engine
 * opens the directory, and so is anything a repair finds.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../index.js';
import { repairDataDir } from '../storage/repair.js';

/** `name → mode` (permission bits, octal text) of `dir` and of everything below it. */
async function modes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { '.': ((await stat(dir)).mode & 0o777).toString(8) };
  const walk = async (current: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      out[`${prefix}${entry.name}`] = ((await stat(full)).mode & 0o777).toString(8);
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
    }
  };
  await walk(dir, '');
  return out;
}

async function writeOne(uri: string, doc: Record<string, unknown>): Promise<void> {
  const client = new MongoClient(uri, { directConnection: true });
  try {
    await client.db('modes').collection('docs').insertOne(doc, { writeConcern: { w: 1, j: true } });
  } finally {
    await client.close();
  }
}

describe.skipIf(!!process.env.MONGODB_URI)('data file modes (engine only)', () => {
  let tmp: string;
  const previousUmask = process.umask(0o022);

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-modes-'));
  });

  afterAll(async () => {
    process.umask(previousUmask);
    await rm(tmp, { recursive: true, force: true });
  });

  it('creates the directory 0700 and every file 0600 (with a umask of 022)', async () => {
    const dir = path.join(tmp, 'fresh', 'db');
    const engine = await startEmbeddedMongo({ dataDir: dir });
    try {
      await writeOne(engine.uri, { _id: 1 });
      expect(await modes(dir)).toEqual({ '.': '700', 'embedded-mongo.lock': '600', 'engine.json': '600', 'journal-00000000.log': '600', 'snapshot.bin': '600' });
    } finally {
      await engine.stop();
    }
    expect(await modes(dir)).toEqual({ '.': '700', 'journal-00000000.log': '600', 'snapshot.bin': '600' });
  });

  it('narrows a directory written with 0755 / 0644 when it opens it, and keeps its data', async () => {
    const dir = path.join(tmp, 'wide');
    let engine = await startEmbeddedMongo({ dataDir: dir });
    await writeOne(engine.uri, { _id: 'kept' });
    await engine.stop();
    await chmod(dir, 0o755);
    for (const name of await readdir(dir)) await chmod(path.join(dir, name), 0o644);
    await mkdir(path.join(dir, 'damaged-old'), { mode: 0o755 });
    await writeFile(path.join(dir, 'damaged-old', 'journal-00000000.log'), 'x', { mode: 0o644 });
    await chmod(path.join(dir, 'damaged-old'), 0o755);
    expect((await modes(dir))['snapshot.bin']).toBe('644');

    engine = await startEmbeddedMongo({ dataDir: dir });
    try {
      const client = new MongoClient(engine.uri, { directConnection: true });
      try {
        expect(await client.db('modes').collection('docs').find().toArray()).toEqual([{ _id: 'kept' }]);
      } finally {
        await client.close();
      }
      // The replayed journal was compacted into a new generation on open.
      expect(await modes(dir)).toEqual({
        '.': '700',
        'embedded-mongo.lock': '600',
        'engine.json': '600',
        'damaged-old': '700',
        'damaged-old/journal-00000000.log': '600',
        'journal-00000001.log': '600',
        'snapshot.bin': '600',
      });
    } finally {
      await engine.stop();
    }
  });

  it('a repair narrows what it finds and writes its copies private', async () => {
    const dir = path.join(tmp, 'repaired');
    const engine = await startEmbeddedMongo({ dataDir: dir });
    await writeOne(engine.uri, { _id: 1 });
    await engine.stop();
    await chmod(dir, 0o755);
    for (const name of await readdir(dir)) await chmod(path.join(dir, name), 0o644);

    const report = await repairDataDir(dir);
    const damaged = path.basename(report.damagedDir);
    expect(await modes(dir)).toEqual({
      '.': '700',
      [damaged]: '700',
      [`${damaged}/journal-00000000.log`]: '600',
      [`${damaged}/snapshot.bin`]: '600',
      'journal-00000001.log': '600',
      'snapshot.bin': '600',
    });
  });
});
