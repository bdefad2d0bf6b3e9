/**
 * The engine's published address (DATA_DIR/engine.json): written (0600) once an engine on a data
 * directory listens, removed when it stops, and believed by dataDirState only while the lock's holder
 * is alive and is the process that wrote it.
 */
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirState, startEmbeddedMongo } from '../index.js';

let dir: string;
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('engine.json', () => {
  it('is published while the engine runs and withdrawn when it stops', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'endpoint-'));
    expect(dataDirState(dir)).toEqual({ state: 'free' });
    const engine = await startEmbeddedMongo({ dataDir: dir });
    try {
      const file = path.join(dir, 'engine.json');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid, uri: engine.uri });
      expect(dataDirState(dir)).toEqual({ state: 'served', pid: process.pid, uri: engine.uri });
      const published = await readFile(file, 'utf8');
      await unlink(file);
      expect(dataDirState(dir)).toEqual({ state: 'locked', pid: process.pid });
      // An address written by another process (here: another pid) is not the lock holder's.
      await writeFile(file, published.replace(`"pid":${process.pid}`, '"pid":1'));
      expect(dataDirState(dir)).toEqual({ state: 'locked', pid: process.pid });
      await writeFile(file, published);
    } finally {
      await engine.stop();
    }
    expect(await stat(path.join(dir, 'engine.json')).catch(() => 'gone')).toBe('gone');
    expect(dataDirState(dir)).toEqual({ state: 'free' });
  });

  it('left behind by a crashed engine (its lock\'s process is gone), is ignored', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'endpoint-'));
    await writeFile(path.join(dir, 'embedded-mongo.lock'), JSON.stringify({ pid: 2 ** 22 + 12345 }));
    await writeFile(path.join(dir, 'engine.json'), JSON.stringify({ pid: 2 ** 22 + 12345, uri: 'mongodb://127.0.0.1:1/?directConnection=true' }));
    expect(dataDirState(dir)).toEqual({ state: 'free' });
    const engine = await startEmbeddedMongo({ dataDir: dir });
    try {
      expect(dataDirState(dir)).toEqual({ state: 'served', pid: process.pid, uri: engine.uri });
    } finally {
      await engine.stop();
    }
  });
});
