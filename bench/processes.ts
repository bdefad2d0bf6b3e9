/**
 * Child processes of the benchmark: the database engine, the API server and the ceiling servers.
 * Each runs as its own process so that the load generator, the server and the database compete
 * for the cores exactly as separate deployments would on one machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { booleanSetting } from '../server/config.js';
import { setTimeout as sleep } from 'node:timers/promises';

export const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

export interface Child {
  name: string;
  process: ChildProcess;
  /** Everything the process wrote to stderr (kept for error messages). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Extra node flags from an environment variable (space-separated). */
function nodeFlagsFrom(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter(Boolean);
}

function spawnChild(name: string, args: string[], env: Record<string, string | undefined>, onStdout?: (line: string) => void): Child {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let errText = '';
  let outBuffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    outBuffer += chunk;
    let nl;
    while ((nl = outBuffer.indexOf('\n')) >= 0) {
      const line = outBuffer.slice(0, nl);
      outBuffer = outBuffer.slice(nl + 1);
      onStdout?.(line);
      if (booleanSetting(process.env, 'BENCH_STDERR', false)) process.stderr.write(`[${name}] ${line}\n`);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    errText = (errText + chunk).slice(-20_000);
    // BENCH_STDERR=1 passes the children's output through (for diagnosing a run).
    if (booleanSetting(process.env, 'BENCH_STDERR', false)) process.stderr.write(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    process: child,
    stderr: () => errText,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timeout = sleep(15_000).then(() => 'timeout');
      if ((await Promise.race([exited.then(() => 'exited'), timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** The embedded MongoDB-compatible engine (as `npm run db -- --port 0 --in-memory`, or with `--dbpath dataDir`, compiled) as its own process. */
export async function startEmbeddedDb(nodeArgs: string[] = [], dataDir?: string, startTimeoutMs = 30_000): Promise<{ child: Child; uri: string }> {
  let resolveUri: (uri: string) => void;
  const uriPromise = new Promise<string>((resolve) => (resolveUri = resolve));
  // The compiled engine (ensureBuilt), like `npm start`'s server: no loader thread, and profiles of the engine itself.
  // As `npm run db` runs it: two malloc arenas (glibc's default of one per thread left the C heap of an engine
  // with a data directory hundreds of MB larger than what it holds, #23), blocks of 128 KB and more mapped on their
  // own (unmapped when freed, not left as holes in the C heap), the default young generation.
  const flags = [...nodeFlagsFrom('BENCH_NODE_ARGS'), ...nodeFlagsFrom('BENCH_DB_NODE_ARGS')];
  const child = spawnChild('db', [...flags, ...nodeArgs, 'dist/server/db/embedded/cli.js', '--port', '0', ...(dataDir ? ['--dbpath', dataDir] : ['--in-memory']), '--quiet'], { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }, (line) => {
    const m = /embedded-mongo listening on (\S+)/.exec(line);
    if (m) resolveUri(m[1]!);
  });
  const failed = new Promise<never>((_, reject) => child.process.once('exit', (code) => reject(new Error(`the database engine exited (${code}): ${child.stderr()}`))));
  const uri = await Promise.race([uriPromise, failed, sleep(startTimeoutMs).then(() => Promise.reject(new Error(`the database engine did not start in ${startTimeoutMs / 1000} s`)))]);
  return { child, uri };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const stat = statSync(full);
    newest = Math.max(newest, stat.isDirectory() ? newestMtime(full) : stat.mtimeMs);
  }
  return newest;
}

/** Compiles the server into dist/ when it is missing or older than the sources (like `npm start`). */
export function ensureBuilt(): void {
  const entry = join(root, 'dist', 'server', 'main.js');
  const sources = Math.max(newestMtime(join(root, 'server')), statSync(join(root, 'generated', 'schema.d.ts')).mtimeMs);
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
  console.error('bench: compiling the server (tsc -p tsconfig.build.json) ...');
  const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('tsc failed');
}

/** Polls `url` until it answers 200. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited (${child.process.exitCode}): ${child.stderr()}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms: ${child.stderr()}`);
}

export interface ServerOptions {
  port: number;
  env: Record<string, string | undefined>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

/** The API server (`node dist/server/main.js`) as its own process; resolves once /readyz answers. */
export async function startApiServer(options: ServerOptions): Promise<Child> {
  const child = spawnChild('server', [...nodeFlagsFrom('BENCH_NODE_ARGS'), ...(options.nodeArgs ?? []), 'dist/server/main.js'], { ...options.env, PORT: String(options.port), HOST: '127.0.0.1' });
  await waitForHttp(`http://127.0.0.1:${options.port}/readyz`, child);
  return child;
}

/** A ceiling or floor server (bench/ceiling-*.ts, bench/floor.ts) as its own process, with `env` added to its environment. */
export async function startCeilingServer(script: string, port: number, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Child> {
  const child = spawnChild(script, [...nodeArgs, '--import', 'tsx', script], { ...env, PORT: String(port) });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, child);
  return child;
}

/** Resident set size in bytes of a process and its descendants (Linux /proc; 0 elsewhere). */
export function rssOf(pid: number): number {
  const pids = [pid, ...descendants(pid)];
  let total = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/** CPU seconds (user + system) used so far by a process and its descendants (Linux /proc). */
export function cpuSecondsOf(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

function descendants(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return children.flatMap((c) => [c, ...descendants(c)]);
  } catch {
    return [];
  }
}

/** A free TCP port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
