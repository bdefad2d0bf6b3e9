/**
 * Child processes for the fault tests: the embedded database engine as its own process (so it can
 * be stopped and restarted under a running server, or outlive a killed server) and the real server
 * (`server-process.ts`) as its own process (so it can be killed with SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ChildHandle {
  child: ChildProcess;
  /** SIGTERM (graceful: the engine flushes its journal) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

function waitExit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

function handle(child: ChildProcess): ChildHandle {
  return { child, stop: () => waitExit(child, 'SIGTERM'), kill: () => waitExit(child, 'SIGKILL') };
}

/** Spawns `node --import tsx <script>` (the pid is the process itself, not a wrapper) and resolves with its first stdout line matching `ready`. */
function spawnUntil(args: string[], env: Record<string, string>, ready: RegExp, exactEnv = false): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: exactEnv ? env : { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null) => reject(new Error(`${args[0]} exited early (${code}): ${stderr.slice(-2000)}`));
    lines.on('line', (line) => {
      if (!ready.test(line)) return;
      child.off('exit', onExit);
      resolve({ child, line });
    });
    child.once('exit', onExit);
  });
}

export interface EngineProcess extends ChildHandle {
  uri: string;
  port: number;
}

/** The embedded engine in its own process on `dataDir` (`port` 0: any free port). */
export async function startEngineProcess(dataDir: string, port = 0): Promise<EngineProcess> {
  const { child, line } = await spawnUntil(['server/db/embedded/cli.ts', '--port', String(port), '--dbpath', dataDir, '--quiet'], {}, /listening on/);
  const uri = /listening on (\S+)/.exec(line)![1]!;
  return { ...handle(child), uri, port: Number(new URL(uri).port) };
}

export interface ServerProcess extends ChildHandle {
  url: string;
}

/** The real server (`npm start` wiring) in its own process; `env` configures it (database, bootstrap account). */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const { child, line } = await spawnUntil([path.join(root, 'test/hardening/support/server-process.ts')], env, /^\{/);
  return { ...handle(child), url: (JSON.parse(line) as { url: string }).url };
}

/**
 * `server/main.ts` (what `npm start` runs) in its own process with exactly `env` on top of PATH and
 * HOME (nothing else of the test's environment: no MONGODB_URI unless given), on a free loopback
 * port, logging at info; resolves once it logs `listening`.
 */
export async function startMainProcess(env: Record<string, string>): Promise<ServerProcess> {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0' };
  const { child, line } = await spawnUntil([path.join(root, 'server/main.ts')], { ...base, ...env }, /"msg":"listening"/, true);
  return { ...handle(child), url: (JSON.parse(line) as { url: string }).url };
}
