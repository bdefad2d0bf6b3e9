/**
 * The processes as an operator runs them: `npm start` and `npm run db` stop gracefully when a process
 * manager signals the npm process (npm forwards the signal to its child, which must be the server
 * itself, not a shell that dies without passing it on), and a port in use stops the start before
 * anything is written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer } from '../../server/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'process-lifecycle-'));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** Resolves with the first output line matching `pattern` (stdout or stderr), or rejects when the child exits first. */
function waitForLine(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${ms} ms: ${output.slice(-2000)}`)), ms);
    const onData = (d: Buffer) => {
      output += d.toString();
      const line = output.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${pattern}: ${output.slice(-2000)}`));
    });
  });
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port, polled until `expected` or `ms`. */
async function listening(port: number, expected: boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open === expected || Date.now() > deadline) return open;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function npm(args: string[], env: Record<string, string>): ChildProcess {
  // Against a real MongoDB (MONGODB_URI set), each server gets a database of its own.
  const database = process.env.MONGODB_URI ? { MONGODB_DB_NAME: `lifecycle_${randomBytes(6).toString('hex')}` } : {};
  const child = spawn('npm', args, { cwd: root, env: { ...process.env, ...database, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  return child;
}

describe('process lifecycle', () => {
  it('npm start: SIGTERM to the npm process shuts the server down gracefully and frees the port', async () => {
    const child = npm(['start'], { NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', DATA_DIR: path.join(tmp, 'start-db'), LOG_LEVEL: 'info', SECRETS_KEY: '' });
    const line = await waitForLine(child, /"msg":"listening"/, 150_000);
    const port = Number(new URL((JSON.parse(line) as { url: string }).url).port);
    expect(await listening(port, true, 1000)).toBe(true);
    child.kill('SIGTERM');
    const stopped = waitForLine(child, /"msg":"stopped"/, 20_000);
    expect(await exited(child, 20_000)).toBe(0);
    await stopped.catch(() => undefined);
    expect(await listening(port, false, 5000)).toBe(false);
  }, 180_000);

  it('npm start: when npm itself is killed (SIGKILL, no signal to forward), the server still stops', async () => {
    const child = npm(['start'], { NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', DATA_DIR: path.join(tmp, 'orphan-db'), LOG_LEVEL: 'info', SECRETS_KEY: '' });
    const line = await waitForLine(child, /"msg":"listening"/, 150_000);
    const port = Number(new URL((JSON.parse(line) as { url: string }).url).port);
    child.kill('SIGKILL');
    // The launcher notices within a second that its parent is gone and stops the server gracefully.
    expect(await listening(port, false, 15_000)).toBe(false);
  }, 180_000);

  it('npm run db: SIGTERM to the npm process stops the engine and frees its port', async () => {
    const child = npm(['run', 'db', '--', '--port', '0', '--dbpath', path.join(tmp, 'engine-db')], {});
    const line = await waitForLine(child, /embedded-mongo listening on mongodb:\/\//, 60_000);
    const port = Number(/:(\d+)/.exec(line.slice(line.indexOf('mongodb://') + 10))![1]);
    expect(await listening(port, true, 1000)).toBe(true);
    child.kill('SIGTERM');
    await exited(child, 20_000);
    expect(await listening(port, false, 5000)).toBe(false);
  }, 90_000);

  it('a port in use: exit code 1 with one line naming the port, before anything is written', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const port = (holder.address() as { port: number }).port;
    const dataDir = path.join(tmp, 'busy-db');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/main.ts')], {
        cwd: root,
        env: { ...process.env, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      expect(await exited(child, 60_000)).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([`Cannot start: Port ${port} on 127.0.0.1 is already in use: stop the process that holds it, or set PORT`]);
      expect(stdout).toBe('');
      // Nothing was written: no data directory, no secrets key, no demo account.
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  }, 90_000);

  it('PORT=0: the demo banner names the port listened on, not 0', async () => {
    const printed: string[] = [];
    // An empty database (the demo account is made only there): a fresh directory, or a fresh database on MONGODB_URI.
    const database = process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI, MONGODB_DB_NAME: `banner_${randomBytes(6).toString('hex')}` } : { DATA_DIR: path.join(tmp, 'banner-db') };
    const config = loadConfig({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ...database, SECRETS_KEY: randomBytes(32).toString('base64') });
    const server = await startServer({ config, logger: createLogger('silent'), print: (text) => printed.push(text) });
    try {
      const port = new URL(server.url).port;
      expect(port).not.toBe('0');
      expect(printed).toHaveLength(1);
      expect(printed[0]).toContain('=== Demo account created');
      expect(printed[0]).toMatch(new RegExp(`curl -H 'Authorization: Api-Key mgmt_[^']+' http://localhost:${port}/api/v1/products/`));
    } finally {
      if (process.env.MONGODB_URI) await server.db.connection.dropDatabase().catch(() => undefined);
      await server.close();
    }
  });
});
