/**
 * The key that seals stored secrets cannot drift from the database it belongs to. The real server
 * (`server/main.ts`, as `npm start` runs it) is started as a child process: its key file lives inside
 * DATA_DIR (0600), an old key file beside DATA_DIR is moved in when it opens the stored secrets, and
 * a key that does not open them (planted, replaced, lost, or the wrong SECRETS_KEY) makes the process
 * exit with code 2 and a message naming what to restore, before it listens. Data files are 0600 and
 * directories 0700 after a start, also when they were wider before.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/connection.js';
import { startTestDatabase } from '../../server/db/embedded/test/database.js';
import { createLogger } from '../../server/logger.js';
import { createServices } from '../../server/services.js';
import { root } from './support/processes.js';

type Started = { listening: true; url: string; log: string[]; stop(): Promise<void> } | { listening: false; code: number | null; stderr: string; log: string[] };

/** Variables of the test process a child must not inherit unless a test sets them. */
const CONTROLLED = ['MONGODB_URI', 'MONGODB_DB_NAME', 'DATA_DIR', 'SECRETS_KEY', 'EMBEDDED_DB_IN_MEMORY', 'WEB_CONCURRENCY', 'BOOTSTRAP_ACCOUNT_NAME'];

const running = new Set<ReturnType<typeof spawn>>();

/** `node --import tsx server/main.ts` with `env`; resolves once it logs `listening`, or once it exits. */
function startMain(env: Record<string, string>): Promise<Started> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONTROLLED) delete base[name];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/main.ts')], {
    cwd: root,
    env: { ...base, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const log: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server/main.ts neither listened nor exited within 60 s: ${stderr.slice(-2000)}`));
    }, 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.push(line);
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg !== 'listening') return;
      clearTimeout(timer);
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
      resolve({ listening: true, url: entry.url!, log, stop });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ listening: false, code, stderr, log });
    });
  });
}

async function expectListening(env: Record<string, string>): Promise<Extract<Started, { listening: true }>> {
  const started = await startMain(env);
  if (!started.listening) throw new Error(`expected the server to start, it exited with ${started.code}: ${started.stderr}`);
  return started;
}

async function expectRefused(env: Record<string, string>): Promise<string> {
  const started = await startMain(env);
  if (started.listening) {
    await started.stop();
    throw new Error('expected the server to refuse to start, it listened');
  }
  expect(started.code).toBe(2);
  return started.stderr;
}

/** `name → permission bits (octal)` of `dir` and everything below it. */
function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = { '.': (statSync(dir).mode & 0o777).toString(8) };
  const walk = (current: string, prefix: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      out[`${prefix}${entry.name}`] = (statSync(path.join(current, entry.name)).mode & 0o777).toString(8);
      if (entry.isDirectory()) walk(path.join(current, entry.name), `${prefix}${entry.name}/`);
    }
  };
  walk(dir, '');
  return out;
}

function expectPrivate(dir: string): void {
  const found = modes(dir);
  expect(found['secrets.key']).toBe('600');
  expect(found['snapshot.bin']).toBe('600');
  for (const [name, mode] of Object.entries(found)) {
    expect(`${name} ${mode}`).toBe(`${name} ${statSync(path.join(dir, name)).isDirectory() ? '700' : '600'}`);
  }
}

const newKey = () => randomBytes(32).toString('base64');

/**
 * A data directory as an earlier version left it: an account whose secrets are sealed with `key`,
 * and no canary (written by the domain directly, not by the server).
 */
async function legacyDataDir(dataDir: string, key: string): Promise<{ managementApiKey: string }> {
  const db = await openDatabase({ uri: undefined, embeddedDataDir: dataDir, logger: createLogger('silent') });
  try {
    const { credentials } = await createServices(db, { secretsKey: key }).accounts.createAccount({ name: 'before-the-canary' });
    return credentials;
  } finally {
    await db.close();
  }
}

// Each test starts the server up to four times (a few seconds each on a busy machine).
describe.concurrent('sealed secrets: the key lives in DATA_DIR and must open the stored secrets', { timeout: 240_000 }, () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'sealed-secrets-'));
  afterAll(() => {
    for (const child of running) child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a new DATA_DIR gets its key inside (0600), nothing beside it; data files 0600 and dirs 0700, also when they were 0644/0755', async () => {
    const parent = path.join(tmp, 'fresh');
    const dataDir = path.join(parent, 'db');
    let server = await expectListening({ DATA_DIR: dataDir });
    await server.stop();
    const key = readFileSync(path.join(dataDir, 'secrets.key'), 'utf8').trim();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(existsSync(path.join(parent, 'secrets.key'))).toBe(false);
    expect(server.log.some((line) => line.includes('"msg":"secrets key created"') && line.includes(JSON.stringify(path.join(dataDir, 'secrets.key'))))).toBe(true);
    expectPrivate(dataDir);

    // Files and directories with wider modes (an older version, a restore from a backup) are narrowed at start.
    chmodSync(dataDir, 0o755);
    for (const name of readdirSync(dataDir)) chmodSync(path.join(dataDir, name), 0o644);
    expect(modes(dataDir)['secrets.key']).toBe('644');
    server = await expectListening({ DATA_DIR: dataDir });
    try {
      expectPrivate(dataDir);
    } finally {
      await server.stop();
    }
    expect(readFileSync(path.join(dataDir, 'secrets.key'), 'utf8').trim()).toBe(key);
  });

  it('moves the key an earlier version kept beside DATA_DIR into it (one log line), and the stored secrets work', async () => {
    const parent = path.join(tmp, 'upgrade');
    const dataDir = path.join(parent, 'db');
    const key = newKey();
    const credentials = await legacyDataDir(dataDir, key);
    writeFileSync(path.join(parent, 'secrets.key'), `${key}\n`, { mode: 0o644 });

    const server = await expectListening({ DATA_DIR: dataDir });
    try {
      const res = await fetch(`${server.url}/api/v1/account/`, { headers: { Authorization: `Api-Key ${credentials.managementApiKey}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { name: string }).name).toBe('before-the-canary');
    } finally {
      await server.stop();
    }
    expect(existsSync(path.join(parent, 'secrets.key'))).toBe(false);
    expect(readFileSync(path.join(dataDir, 'secrets.key'), 'utf8').trim()).toBe(key);
    expect(modes(dataDir)['secrets.key']).toBe('600');
    const moved = server.log.filter((line) => line.includes('"msg":"secrets key file moved into the data directory"'));
    expect(moved).toHaveLength(1);
    expect(JSON.parse(moved[0]!)).toMatchObject({ from: path.join(parent, 'secrets.key'), to: path.join(dataDir, 'secrets.key') });
  });

  it('an old key beside DATA_DIR that does not open its secrets refuses start (exit 2) and is left where it is', async () => {
    const parent = path.join(tmp, 'upgrade-wrong');
    const dataDir = path.join(parent, 'db');
    await legacyDataDir(dataDir, newKey());
    const planted = newKey();
    writeFileSync(path.join(parent, 'secrets.key'), `${planted}\n`);
    const stderr = await expectRefused({ DATA_DIR: dataDir });
    expect(stderr).toContain(`Configuration error: the secrets key file ${path.join(parent, 'secrets.key')} (beside DATA_DIR, where earlier versions kept it) does not open the secrets sealed in this database`);
    expect(readFileSync(path.join(parent, 'secrets.key'), 'utf8').trim()).toBe(planted);
    expect(existsSync(path.join(dataDir, 'secrets.key'))).toBe(false);
  });

  it('an old key beside a DATA_DIR that holds nothing sealed is not adopted: a new key is made inside', async () => {
    const parent = path.join(tmp, 'sibling');
    const dataDir = path.join(parent, 'db');
    const planted = newKey();
    mkdirSync(parent);
    writeFileSync(path.join(parent, 'secrets.key'), `${planted}\n`);
    const server = await expectListening({ DATA_DIR: dataDir });
    await server.stop();
    const key = readFileSync(path.join(dataDir, 'secrets.key'), 'utf8').trim();
    expect(key).not.toBe(planted);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(readFileSync(path.join(parent, 'secrets.key'), 'utf8').trim()).toBe(planted);
  });

  it('a planted or replaced key file refuses start with exit code 2 and says what to restore', async () => {
    const dataDir = path.join(tmp, 'planted', 'db');
    const server = await expectListening({ DATA_DIR: dataDir });
    await server.stop();
    const planted = newKey();
    writeFileSync(path.join(dataDir, 'secrets.key'), `${planted}\n`);
    const stderr = await expectRefused({ DATA_DIR: dataDir });
    expect(stderr).toContain(
      `Configuration error: the secrets key file ${path.join(dataDir, 'secrets.key')} does not open the secrets sealed in this database (its canary, sealed with the key in use at its first start, does not open). Restore the secrets.key that goes with this database (it is backed up with DATA_DIR), or set SECRETS_KEY to that key.`,
    );
    expect(readFileSync(path.join(dataDir, 'secrets.key'), 'utf8').trim()).toBe(planted);
    // Another SECRETS_KEY is refused the same way (it takes precedence over the file).
    expect(await expectRefused({ DATA_DIR: dataDir, SECRETS_KEY: newKey() })).toContain('Configuration error: SECRETS_KEY does not open the secrets sealed in this database');
  });

  it('a deleted key file with existing data refuses start (exit 2) instead of starting with a new key, and writes none', async () => {
    const dataDir = path.join(tmp, 'deleted', 'db');
    const server = await expectListening({ DATA_DIR: dataDir });
    await server.stop();
    const key = readFileSync(path.join(dataDir, 'secrets.key'), 'utf8').trim();
    rmSync(path.join(dataDir, 'secrets.key'));
    const stderr = await expectRefused({ DATA_DIR: dataDir });
    expect(stderr).toContain(`Configuration error: the secrets key file ${path.join(dataDir, 'secrets.key')} is missing, but this database holds secrets sealed with another key`);
    expect(stderr).toContain(`Restore ${path.join(dataDir, 'secrets.key')} from the backup of DATA_DIR, or set SECRETS_KEY to the key that goes with this database; no new key was written.`);
    expect(existsSync(path.join(dataDir, 'secrets.key'))).toBe(false);
    // Restoring the key is all it takes.
    writeFileSync(path.join(dataDir, 'secrets.key'), `${key}\n`, { mode: 0o600 });
    await (await expectListening({ DATA_DIR: dataDir })).stop();
  });

  it('MONGODB_URI + SECRETS_KEY: a database from before the canary is checked against a sealed secret, then gets its canary; a cluster refuses too', async () => {
    const testDb = await startTestDatabase();
    try {
      const key = newKey();
      const db = await openDatabase({ uri: testDb.uri, dbName: testDb.dbName, logger: createLogger('silent') });
      try {
        await createServices(db, { secretsKey: key }).accounts.createAccount({ name: 'sealed' });
      } finally {
        await db.close();
      }
      const env = { MONGODB_URI: testDb.uri, MONGODB_DB_NAME: testDb.dbName };
      expect(await expectRefused({ ...env, SECRETS_KEY: newKey() })).toContain(
        'Configuration error: SECRETS_KEY does not open the secrets sealed in this database (a stored shared key, signing key or webhook secret does not open). Set SECRETS_KEY to the key that goes with this database.',
      );
      const client = new MongoClient(testDb.uri);
      try {
        const settings = client.db(testDb.dbName).collection<{ _id: string }>('settings');
        expect(await settings.countDocuments({ _id: 'secrets-canary' })).toBe(0);
        await (await expectListening({ ...env, SECRETS_KEY: key })).stop();
        expect(await settings.countDocuments({ _id: 'secrets-canary' })).toBe(1);
      } finally {
        await client.close();
      }
      expect(await expectRefused({ ...env, SECRETS_KEY: newKey() })).toContain('Configuration error: SECRETS_KEY does not open the secrets sealed in this database (its canary, sealed with the key in use at its first start, does not open).');
      // In cluster mode the primary exits with the refusing worker's code instead of replacing it forever.
      expect(await expectRefused({ ...env, SECRETS_KEY: newKey(), WEB_CONCURRENCY: '2' })).toContain('Configuration error: SECRETS_KEY does not open the secrets sealed in this database');
    } finally {
      await testDb.stop();
    }
  });
});
