import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';

/** Kills a child process with SIGKILL (a crash, no cleanup) and resolves once it has exited. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * Starts `script` (a server in a child process that prints one JSON line once it listens) with
 * `node --import tsx` (not the tsx wrapper, which forks: the killed pid is the server itself), from
 * `cwd`. Resolves with the child and that line.
 */
export function startServerChild<Info>(script: string, cwd: string, env: Record<string, string>): Promise<{ child: ChildProcess; info: Info }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve({ child, info: JSON.parse(line) as Info }));
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${stderr.slice(-2000)}`)));
  });
}

/**
 * The database of a crash test's server processes: the embedded engine on a fresh DATA_DIR, or a fresh
 * database on MONGODB_URI when set; with a production environment and a bootstrap Web API v3 access
 * token (`token`). `cleanup` removes the directory or drops the database.
 */
export function crashDatabase(prefix: string): { env: Record<string, string>; token: string; cleanup(): Promise<void> } {
  const dataDir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const dbName = `${prefix.replace(/\W/g, '_')}_${randomBytes(6).toString('hex')}`;
  const token = `v3at_${randomBytes(24).toString('base64url')}`;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    SECRETS_KEY: randomBytes(32).toString('base64'),
    BOOTSTRAP_V3_ACCESS_TOKEN: token,
    ...(process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI, MONGODB_DB_NAME: dbName } : { DATA_DIR: dataDir }),
  };
  return {
    env,
    token,
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      if (process.env.MONGODB_URI) {
        const client = new MongoClient(process.env.MONGODB_URI);
        await client.connect();
        await client.db(dbName).dropDatabase();
        await client.close();
      }
    },
  };
}
