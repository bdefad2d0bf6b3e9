/**
 * The data directory lock (`embedded-mongo.lock`): `{"pid":N,"startTime":"…"}`, created with
 * O_EXCL. A lock is stale (and taken over) when its process is gone, is a zombie (killed but not
 * reaped by its parent, e.g. in a container without init), or is another process that reused the
 * PID (its start time, field 22 of /proc/<pid>/stat, differs). Without /proc: `kill(pid, 0)`.
 */
import { readFileSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FILE_MODE, LOCK } from './datadir.js';

export interface Holder {
  pid: number;
  startTime?: string;
}

interface ProcStat {
  state: string;
  startTime: string;
}

/** `/proc/<pid>/stat`, or null when the process does not exist, or undefined when /proc is absent. */
function procStat(pid: number | 'self'): ProcStat | null | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    try {
      readFileSync('/proc/self/stat');
    } catch {
      return undefined;
    }
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}

function parseHolder(text: string): Holder | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const v = JSON.parse(trimmed) as { pid?: unknown; startTime?: unknown };
    if (typeof v.pid === 'number' && v.pid > 0) {
      return typeof v.startTime === 'string' ? { pid: v.pid, startTime: v.startTime } : { pid: v.pid };
    }
  } catch {
    // unreadable lock: treated as stale
  }
  return undefined;
}

/** Whether the process recorded in a lock still holds it. */
export function lockHolderAlive(holder: Holder): boolean {
  const stat = procStat(holder.pid);
  if (stat === null) return false;
  if (stat) {
    if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
    if (holder.startTime !== undefined && stat.startTime !== holder.startTime) return false;
    return true;
  }
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live process holding the lock of `dir`, or undefined when the directory is free (no lock, or a stale one). */
export function liveLockHolder(dir: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dir, LOCK), 'utf8');
  } catch {
    return undefined;
  }
  const holder = parseHolder(text);
  return holder && lockHolderAlive(holder) ? holder : undefined;
}

/** This process as a lock records it. */
export function ownHolder(): Holder {
  const own: Holder = { pid: process.pid };
  const self = procStat('self');
  if (self) own.startTime = self.startTime;
  return own;
}

export interface DirLock {
  /** Removes the lock; with `restore`, puts back a stale lock that was taken over. */
  release(restore?: boolean): Promise<void>;
}

export async function acquireLock(dir: string): Promise<DirLock> {
  const file = path.join(dir, LOCK);
  const own = ownHolder();
  const content = JSON.stringify(own);
  let previous: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(file, 'wx', FILE_MODE);
      try {
        await fh.writeFile(content);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const holder = parseHolder(text);
    // The same process may reopen a directory it holds (tests simulate crashes that way).
    if (holder && holder.pid !== process.pid && lockHolderAlive(holder)) {
      throw new Error(`data directory ${dir} is in use by process ${holder.pid}`);
    }
    previous ??= text;
    await rm(file, { force: true });
  }
  return {
    async release(restore = false) {
      try {
        if ((await readFile(file, 'utf8')) !== content) return;
      } catch {
        return;
      }
      if (restore && previous !== undefined) await writeFile(file, previous, { mode: FILE_MODE });
      else await rm(file, { force: true });
    },
  };
}
