/**
 * The admin CLI (`npm run admin -- …`, scripts/admin.ts) as an operator runs it: a child process
 * (`node --import tsx scripts/admin.ts …`) on (a) a data directory no server holds, (b) the data
 * directory of a running server (server/main.ts, as `npm start` runs it, in its own process: the CLI is
 * a second client of that server's engine), and (c) MONGODB_URI when the test environment sets one.
 * Credentials it prints are checked against the real APIs of the running server.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Each test runs the CLI several times as a child process (1-3 s each on a loaded 2-core machine).
vi.setConfig({ testTimeout: 180_000 });
import { openDatabase } from '../../server/db/connection.js';
import { createLogger } from '../../server/logger.js';
import { createServices } from '../../server/services.js';
import { root, startMainProcess, type ServerProcess } from '../hardening/support/processes.js';
import { ManualClock } from '../support/clock.js';
import { buildLicense, buildProduct } from '../support/fixtures.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with exactly `env` (plus PATH and HOME) and resolves with its exit code and output. */
function admin(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'scripts/admin.ts'), ...args],
      { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The value after `label` in the CLI's output (`management API key:  mgmt_…`). */
function field(output: string, label: string): string {
  const match = new RegExp(`${label}:\\s+(\\S+)`).exec(output);
  if (!match) throw new Error(`no "${label}" in:\n${output}`);
  return match[1]!;
}

const fingerprint = (secret: string) => createHash('sha256').update(secret).digest('hex').slice(0, 12);

const COMMANDS = ['accounts list', 'accounts create', 'credentials list', 'credentials create', 'credentials rotate', 'credentials revoke', 'demo', 'seed', 'ledger retain'];

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'admin-cli-'));
  dirs.push(dir);
  return path.join(dir, 'db');
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('usage', () => {
  it.each(COMMANDS)('%s --help prints its usage on stdout and exits 0, touching no database', async (command) => {
    const dir = dataDir();
    const run = await admin([...command.split(' '), '--help'], { DATA_DIR: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: npm run admin -- ${command}\\b`));
    expect(run.stdout).toContain('--help, -h');
    expect(existsSync(dir)).toBe(false);
  });

  it('--help and the groups\' --help list the commands', async () => {
    const all = await admin(['--help'], {});
    expect(all.code).toBe(0);
    for (const command of COMMANDS) expect(all.stdout).toContain(`  ${command} `);
    const group = await admin(['credentials', '-h'], {});
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/^Usage: npm run admin -- credentials <list\|create\|rotate\|revoke>/);
  });

  it('npm run seed -- --help prints the seed usage and seeds nothing', async () => {
    const dir = dataDir();
    const run = await new Promise<Run>((resolve) =>
      execFile('npm', ['run', '-s', 'seed', '--', '--help'], { cwd: root, env: { ...process.env, DATA_DIR: dir } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      ),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run admin -- seed --account <id>/);
    expect(existsSync(dir)).toBe(false);
  });

  it.each([
    [['credentials', 'rotate', '--account', '1', '--kind', 'management', '--bogus'], /Unknown option '--bogus'/],
    [['credentials', 'rotate', '--account', '1', '--kind', 'password'], /--kind: password is none of management, license-api, v3-token/],
    [['credentials', 'revoke', '--kind', 'management'], /--account is required/],
    [['credentials', 'list', '--account', 'acme'], /--account: not an account id: acme/],
    [['accounts', 'create'], /--name is required/],
    [['accounts', 'delete'], /unknown command: accounts delete/],
    [['frobnicate'], /unknown command: frobnicate/],
    [[], /no command given/],
  ])('%j: usage on stderr, exit code 2, no database opened', async (args, message) => {
    const dir = dataDir();
    const run = await admin(args, { DATA_DIR: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('Usage: npm run admin --');
    expect(run.stdout).toBe('');
    expect(existsSync(dir)).toBe(false);
  });
});

describe('on a data directory no server holds', () => {
  it('creates and lists accounts, lists, rotates and revokes credentials; the database holds what it printed', async () => {
    const env: { DATA_DIR: string } = { DATA_DIR: dataDir() };
    expect((await admin(['demo'], env)).stderr).toMatch(/^admin: no account yet: start the server once/);

    const created = await admin(['accounts', 'create', '--name', 'acme'], env);
    expect(created.code).toBe(0);
    const id = Number(field(created.stdout, 'account id'));
    const managementKey = field(created.stdout, 'management API key');
    const licenseKey = field(created.stdout, 'License API key');
    const sharedKey = field(created.stdout, 'License shared key');
    const token = field(created.stdout, 'v3 access token');
    expect(created.stdout).toContain('shown only this once');

    const again = await admin(['accounts', 'create', '--name', 'acme'], env);
    expect(again).toMatchObject({ code: 1, stderr: 'admin: An account named "acme" exists already\n' });

    const listed = await admin(['accounts', 'list'], env);
    expect(listed.stdout).toMatch(new RegExp(`^${id}  acme  \\d{4}-`));
    expect(listed.stdout.trim().split('\n')).toHaveLength(1);

    const credentials = await admin(['credentials', 'list', '--account', String(id)], env);
    expect(credentials.code).toBe(0);
    expect(credentials.stdout).toMatch(new RegExp(`management +${fingerprint(managementKey)}  created `));
    expect(credentials.stdout).toMatch(new RegExp(`license-api +${fingerprint(licenseKey)}  created `));
    expect(credentials.stdout).toMatch(new RegExp(`v3-token +${fingerprint(token)}  created `));
    for (const secret of [managementKey, licenseKey, sharedKey, token]) expect(credentials.stdout).not.toContain(secret);

    const rotated = await admin(['credentials', 'rotate', '--account', String(id), '--kind', 'license-api'], env);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`replaced ${fingerprint(licenseKey)}`);
    const newLicenseKey = field(rotated.stdout, 'License API key');
    const newSharedKey = field(rotated.stdout, 'License shared key');
    expect(rotated.stdout).toContain('up to 10 s');

    const added = await admin(['credentials', 'create', '--account', String(id), '--kind', 'management'], env);
    const secondKey = field(added.stdout, 'management API key');
    const revokedOne = await admin(['credentials', 'revoke', '--account', String(id), '--kind', 'management', '--fingerprint', fingerprint(managementKey)], env);
    expect(revokedOne).toMatchObject({ code: 0, stdout: `Revoked 1 management credential of account ${id}: ${fingerprint(managementKey)}\n` });
    const revokedAll = await admin(['credentials', 'revoke', '--account', String(id), '--kind', 'v3-token'], env);
    expect(revokedAll.code).toBe(0);
    expect((await admin(['credentials', 'list', '--account', String(id)], env)).stdout).toMatch(/v3-token +\(none\)/);
    expect(await admin(['credentials', 'revoke', '--account', String(id), '--kind', 'v3-token'], env)).toMatchObject({ code: 1, stderr: 'admin: The account has no v3-token credential\n' });
    expect(await admin(['credentials', 'list', '--account', '1234567890123456'], env)).toMatchObject({ code: 1, stderr: 'admin: Account not found\n' });

    const seeded = await admin(['seed', '--account', String(id)], env);
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(/license: +id \d+, key [A-Z0-9]{4}-/);

    // What the database holds, through the domain, with the key the CLI made in DATA_DIR.
    const db = await openDatabase({ uri: undefined, embeddedDataDir: env.DATA_DIR, logger: createLogger('silent') });
    try {
      const { accounts } = createServices(db, { secretsKey: readFileSync(path.join(env.DATA_DIR, 'secrets.key'), 'utf8').trim() });
      await expect(accounts.authenticateManagementKey(managementKey)).rejects.toMatchObject({ code: 'unauthenticated' });
      expect((await accounts.authenticateManagementKey(secondKey)).id).toBe(id);
      await expect(accounts.authenticateLicenseApiKey(licenseKey)).rejects.toMatchObject({ code: 'unauthenticated' });
      expect(await accounts.authenticateLicenseApiKey(newLicenseKey)).toMatchObject({ account: { id }, sharedKey: newSharedKey });
      await expect(accounts.authenticateAccessToken(token)).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      await db.close();
    }
  });
});

describe('ledger retain', () => {
  it('summarises the entries older than LEDGER_RETENTION_DAYS into rollups and deletes them; refused while the retention is forever', async () => {
    const env: { DATA_DIR: string } = { DATA_DIR: dataDir() };
    const created = await admin(['accounts', 'create', '--name', 'metered'], env);
    const id = Number(field(created.stdout, 'account id'));
    // Consumptions ten days ago (7 and 2 within one quarter hour, then 5) and one now, through the domain.
    const now = Date.now();
    const clock = new ManualClock(new Date(now - 10 * 86_400_000));
    const open = () => openDatabase({ uri: undefined, embeddedDataDir: env.DATA_DIR, logger: createLogger('silent') });
    let db = await open();
    try {
      const services = createServices(db, { clock, secretsKey: readFileSync(path.join(env.DATA_DIR, 'secrets.key'), 'utf8').trim() });
      const product = await buildProduct(services, id);
      const { license } = await buildLicense(services, id, { productId: product.id, type: 'consumption', maxActivations: 1, consumption: { max: 100 } }, ['hw-1']);
      const consume = async (amount: number, at: number) => {
        clock.set(new Date(at));
        await services.consumption.consume({ accountId: id, license: { licenseId: license.id }, target: { scope: 'license' }, amount, seat: { hardwareId: 'hw-1' }, negatives: 'policy', event: 'consumption_add' });
      };
      const old = Math.floor((now - 10 * 86_400_000) / 3_600_000) * 3_600_000;
      await consume(7, old + 60_000);
      await consume(2, old + 120_000);
      await consume(5, old + 3_600_000);
      await consume(1, now);
    } finally {
      await db.close();
    }

    expect(await admin(['ledger', 'retain'], env)).toMatchObject({ code: 1, stderr: 'admin: LEDGER_RETENTION_DAYS is "forever" (the default): every ledger entry is kept, nothing to summarise\n' });
    const run = await admin(['ledger', 'retain'], { ...env, LEDGER_RETENTION_DAYS: '7' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Ledger summarised before \d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z \(LEDGER_RETENTION_DAYS=7\): 2 rollups written, 3 entries deleted\n$/);
    expect(await admin(['ledger', 'retain'], { ...env, LEDGER_RETENTION_DAYS: '1' })).toMatchObject({ code: 2, stderr: expect.stringMatching(/^admin: configuration error: LEDGER_RETENTION_DAYS must be "forever"/) });

    db = await open();
    try {
      expect((await db.models.LedgerEntry.collection.find({}).toArray()).map((e) => e.amount as number)).toEqual([1]);
      expect((await db.models.LedgerRollup.collection.find({}).sort({ slot: 1 }).toArray()).map((r) => [r.net as number, r.count as number])).toEqual([
        [9, 2],
        [5, 1],
      ]);
    } finally {
      await db.close();
    }
  });
});

describe('while the server runs on the data directory', () => {
  let server: ServerProcess;
  let env: { DATA_DIR: string };
  beforeAll(async () => {
    env = { DATA_DIR: dataDir() };
    server = await startMainProcess(env);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const management = (key: string) => fetch(`${server.url}/api/v1/products/`, { headers: { Authorization: `Api-Key ${key}` } }).then((r) => r.status);
  const v3 = (token: string) => fetch(`${server.url}/v3/accounts/me`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);

  it('the server publishes its engine\'s address (0600) for the CLI', () => {
    const file = path.join(env.DATA_DIR, 'engine.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: server.child.pid, uri: expect.stringMatching(/^mongodb:\/\/127\.0\.0\.1:\d+\/\?directConnection=true$/) });
  });

  it('an account created by the CLI works at once; a rotated management key stops working, the new one works', async () => {
    const created = await admin(['accounts', 'create', '--name', 'while-running'], env);
    expect(created.code).toBe(0);
    const id = field(created.stdout, 'account id');
    const key = field(created.stdout, 'management API key');
    expect(await management(key)).toBe(200);

    const rotated = await admin(['credentials', 'rotate', '--account', id, '--kind', 'management'], env);
    expect(rotated.code).toBe(0);
    const newKey = field(rotated.stdout, 'management API key');
    expect(await management(key)).toBe(401);
    expect(await management(newKey)).toBe(200);
  });

  it('a revoked v3 access token answers 401 at once', async () => {
    const created = await admin(['accounts', 'create', '--name', 'v3-revoked'], env);
    const id = field(created.stdout, 'account id');
    const token = field(created.stdout, 'v3 access token');
    expect(await v3(token)).toBe(200);
    const revoked = await admin(['credentials', 'revoke', '--account', id, '--kind', 'v3-token'], env);
    expect(revoked.code).toBe(0);
    expect(await v3(token)).toBe(401);
  });

  it('demo shows the account the first start created, without its secrets', async () => {
    const run = await admin(['demo'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Demo account \d{16} "demo"/);
    expect(run.stdout).toContain('cannot be shown again');
    expect(run.stdout).toMatch(/management +[0-9a-f]{12} {2}created /);
  });

  it('refuses with one line and exit code 1 when the live holder of the directory publishes no address', async () => {
    const file = path.join(env.DATA_DIR, 'engine.json');
    const published = readFileSync(file, 'utf8');
    unlinkSync(file);
    try {
      const run = await admin(['accounts', 'list'], env);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`admin: cannot reach the database: the data directory ${env.DATA_DIR} is in use by process ${server.child.pid}, which publishes no database address (engine.json): stop it, or wait until it has started\n`);
    } finally {
      writeFileSync(file, published, { mode: 0o600 });
    }
  });

  it('after a graceful stop the address is withdrawn and the CLI opens the directory itself', async () => {
    await server.stop();
    expect(existsSync(path.join(env.DATA_DIR, 'engine.json'))).toBe(false);
    const run = await admin(['accounts', 'list'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ demo .*\n.* while-running .*\n.* v3-revoked /);
  });
});

describe.skipIf(!process.env.MONGODB_URI)('with MONGODB_URI', () => {
  const dbName = `admin_cli_${randomBytes(6).toString('hex')}`;
  const env = { MONGODB_URI: process.env.MONGODB_URI ?? '', MONGODB_DB_NAME: dbName, SECRETS_KEY: randomBytes(32).toString('base64') };
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startMainProcess(env);
  });
  afterAll(async () => {
    await server?.stop();
    const client = new MongoClient(env.MONGODB_URI);
    await client.connect();
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  it('creates an account on the running server\'s database whose key works; rotation takes the old one away', async () => {
    const created = await admin(['accounts', 'create', '--name', 'on-mongodb'], env);
    expect(created.code).toBe(0);
    const key = field(created.stdout, 'management API key');
    const status = (k: string) => fetch(`${server.url}/api/v1/products/`, { headers: { Authorization: `Api-Key ${k}` } }).then((r) => r.status);
    expect(await status(key)).toBe(200);
    const rotated = await admin(['credentials', 'rotate', '--account', field(created.stdout, 'account id'), '--kind', 'management'], env);
    expect(await status(key)).toBe(401);
    expect(await status(field(rotated.stdout, 'management API key'))).toBe(200);
    expect((await admin(['accounts', 'list'], env)).stdout).toContain(' on-mongodb ');
  });

  it('refuses without SECRETS_KEY (configuration error, exit code 2)', async () => {
    const run = await admin(['accounts', 'list'], { MONGODB_URI: env.MONGODB_URI, MONGODB_DB_NAME: dbName });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^admin: configuration error: SECRETS_KEY is required with MONGODB_URI/);
  });
});
