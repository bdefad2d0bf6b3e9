/**
 * The engine's published address (`engine.json` in the data directory): `{"pid":N,"startTime":"…",
 * "uri":"mongodb://127.0.0.1:…"}`, written (0600) once the engine listens and removed when it stops.
 * Another local process (the admin CLI) reads it to connect as a second client to the engine that
 * holds the directory instead of opening the directory itself (which the lock forbids). The address is
 * believed only while the lock's holder is alive and is the process that wrote it: a file left by a
 * crashed engine is ignored.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FILE_MODE } from './datadir.js';
import { liveLockHolder, ownHolder } from './lock.js';

export const ENDPOINT = 'engine.json';

/** What holds a data directory: nobody, a running engine that publishes its address, or a process that does not. */
export type DataDirState = { state: 'free' } | { state: 'served'; pid: number; uri: string } | { state: 'locked'; pid: number };

/** Writes `engine.json` for this process; `withdraw` removes it again (only while it is still this process's). */
export async function publishEndpoint(dir: string, uri: string): Promise<{ withdraw(): Promise<void> }> {
  const file = path.join(dir, ENDPOINT);
  const content = JSON.stringify({ ...ownHolder(), uri });
  await rm(file, { force: true });
  await writeFile(file, `${content}\n`, { mode: FILE_MODE, flag: 'wx' });
  return {
    async withdraw() {
      try {
        if ((await readFile(file, 'utf8')).trim() !== content) return;
      } catch {
        return;
      }
      await rm(file, { force: true });
    },
  };
}

/** Who holds `dir` right now (see DataDirState). */
export function dataDirState(dir: string): DataDirState {
  const holder = liveLockHolder(dir);
  if (!holder) return { state: 'free' };
  try {
    const published = JSON.parse(readFileSync(path.join(dir, ENDPOINT), 'utf8')) as { pid?: unknown; startTime?: unknown; uri?: unknown };
    if (published.pid === holder.pid && published.startTime === holder.startTime && typeof published.uri === 'string') {
      return { state: 'served', pid: holder.pid, uri: published.uri };
    }
  } catch {
    // missing or unreadable: the holder publishes no address
  }
  return { state: 'locked', pid: holder.pid };
}
