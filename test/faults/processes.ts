/**
 * Child processes of the fault-injection suite, with an environment the suite controls completely
 * (the test process's own MONGODB_URI / DATA_DIR never leak into a child that must not have them):
 * the embedded engine as its own process (`server/db/embedded/cli.ts`) and the real server
 * (`test/faults/server-child.ts`, wired like `npm start`). Both are `node --import tsx <script>`, so
 * the pid killed is the process itself, not a wrapper.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Variables a child inherits from the test process only when the suite passes them explicitly. */
const CONTROLLED = ['MONGODB_URI', 'MONGODB_DB_NAME', 'DATA_DIR', 'SECRETS_KEY', 'EMBEDDED_DB_IN_MEMORY', 'WEB_CONCURRENCY', 'FAULTS_SEED', 'PORT', 'HOST'];

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONTROLLED) delete base[name];
  return { ...base, ...env };
}

export interface Child {
  child: ChildProcess;
  /** The first stdout line that matched the ready pattern. */
  line: string;
  /** Everything the child wrote to stderr so far (its tail is kept for diagnosis). */
  stderr(): string;
  /** SIGKILL and wait for the exit (a crash: no cleanup, no flush). */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit (graceful). */
  stop(): Promise<void>;
}

function waitExit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export function spawnUntil(args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 30_000): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} not ready within ${timeoutMs} ms: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited early (${code ?? signal}): ${stderr.slice(-2000)}`));
    };
    lines.on('line', (line) => {
      if (!ready.test(line)) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.removeAllListeners('line');
      resolve({ child, line, stderr: () => stderr, kill: () => waitExit(child, 'SIGKILL'), stop: () => waitExit(child, 'SIGTERM') });
    });
    child.once('exit', onExit);
  });
}

export interface EngineChild extends Child {
  uri: string;
  port: number;
}

/** The embedded engine in its own process on `dataDir` (`port` 0: any free port). */
export async function startEngine(dataDir: string, port = 0): Promise<EngineChild> {
  const started = await spawnUntil(['server/db/embedded/cli.ts', '--port', String(port), '--dbpath', dataDir, '--quiet'], {}, /listening on/);
  const uri = /listening on (\S+)/.exec(started.line)![1]!;
  return { ...started, uri, port: Number(new URL(uri).port) };
}

/** A license of a seat workload: no device at first, `maxActivations` = the seat limit. */
export interface SeatLicenseInfo {
  licenseId: number;
  licenseKey: string;
  /** The product's id (decimal string, as the Web API v3 names it). */
  productId: string;
}

export interface SeedInfo {
  accountId: number;
  credentials: { licenseApiKey: string; sharedKey: string };
  publicKeyPem: string;
  licenseId: number;
  licenseKey: string;
  product: string;
  hwDeviceId: number;
  activationId: string;
  activationDeviceId: number;
  seatLicenses: { v4: SeatLicenseInfo; v3: SeatLicenseInfo };
}

export interface ServerChild extends Child {
  url: string;
  /** The database the server uses (with the in-process engine: that engine's own socket). */
  dbUri: string;
  dbName: string;
  seed?: SeedInfo;
}

/** The real server (`npm start` wiring) in its own process, configured by `env` only. */
export async function startServer(env: Record<string, string>): Promise<ServerChild> {
  const started = await spawnUntil([path.join(root, 'test/faults/server-child.ts')], env, /^\{/);
  const info = JSON.parse(started.line) as { url: string; dbUri: string; dbName: string; seed?: SeedInfo };
  return { ...started, ...info };
}
