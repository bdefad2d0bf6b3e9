/**
 * The real server as separate processes on one database (the embedded engine in its own process, or
 * MONGODB_URI): a server killed with SIGKILL mid-burst loses and invents no consumption, idempotent
 * retries of the requests whose answers never arrived count once, and two servers under one load keep
 * every limit exact.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/db/connection.js';
import type { AccountCredentials } from '../../server/domain/accounts.js';
import { createLogger } from '../../server/logger.js';
import { createServices, type Services } from '../../server/services.js';
import { V4Client, type V4Response } from '../v4/signed-fetch.js';
import { startEngineProcess, startServerProcess, type EngineProcess, type ServerProcess } from './support/processes.js';
import { countersOf, seedV4License } from './support/seed.js';

describe('faults: server processes on one database', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'server-processes-'));
  const dbName = `procs_${randomBytes(5).toString('hex')}`;
  const secretsKey = randomBytes(32).toString('base64');
  const children: ServerProcess[] = [];
  let engine: EngineProcess | undefined;
  let db: Database;
  let services: Services;
  let accountId: number;
  let credentials: AccountCredentials;
  let publicKeyPem: string;
  let serverEnv: Record<string, string>;

  beforeAll(async () => {
    let uri = process.env.MONGODB_URI;
    if (!uri) {
      engine = await startEngineProcess(dataDir);
      uri = engine.uri;
    }
    // The test's own view of the database: seeding and reading counters, never serving requests.
    db = await openDatabase({ uri, dbName, logger: createLogger('silent') });
    services = createServices(db, { secretsKey });
    ({ account: { id: accountId }, credentials } = await services.accounts.createAccount({ name: 'processes' }));
    publicKeyPem = (await services.accounts.signingKey(accountId)).publicKeyPem;
    serverEnv = { NODE_ENV: 'production', MONGODB_URI: uri, MONGODB_DB_NAME: dbName, SECRETS_KEY: secretsKey, IDEMPOTENCY_LOCK_MS: '1000', RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0' };
  });

  afterAll(async () => {
    for (const child of children) await child.kill();
    if (process.env.MONGODB_URI) await db?.connection.dropDatabase().catch(() => undefined);
    await db?.close();
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function serverProcess(env: Record<string, string> = {}): Promise<{ process: ServerProcess; v4: V4Client }> {
    const child = await startServerProcess({ ...serverEnv, ...env });
    children.push(child);
    return { process: child, v4: new V4Client(child.url, credentials, publicKeyPem) };
  }

  it('kill -9 during a consumption burst: totals equal the 200s received, and retried in-flight keys count once', async () => {
    const target = await seedV4License(services, accountId, 1_000_000);
    const first = await serverProcess();
    const answered = new Set<string>();
    const unanswered = new Set<string>();
    let dead = false;
    // 16 clients, each request with its own Idempotency-Key, until the server dies under them.
    const workers = Array.from({ length: 16 }, async () => {
      while (!dead) {
        const key = randomUUID();
        let res: V4Response;
        try {
          res = await first.v4.post('add_feature_consumption', target.body(), { headers: { 'Idempotency-Key': key } });
        } catch {
          unanswered.add(key);
          return;
        }
        if (res.status !== 200) throw new Error(`unexpected ${res.status} ${res.text}`);
        answered.add(key);
      }
    });
    while (answered.size < 150) await new Promise((r) => setTimeout(r, 5));
    await first.process.kill();
    dead = true;
    await Promise.all(workers);

    expect(unanswered.size).toBeGreaterThan(0);
    // Nothing lost, nothing invented: every 200 counted; beyond that, at most the requests in flight.
    const afterCrash = (await countersOf(services, accountId, target.license.id)).features[0]!.total;
    expect(afterCrash).toBeGreaterThanOrEqual(answered.size);
    expect(afterCrash).toBeLessThanOrEqual(answered.size + unanswered.size);

    // Restarted on the same data, the in-flight requests are retried with their keys: each counts once.
    // Its maintenance step moves outbox entries older than 1 s: those the crash left behind.
    const second = await serverProcess({ WEBHOOKS_REPAIR_AFTER_MS: '1000' });
    const retried = await Promise.all([...unanswered].map((key) => second.v4.post('add_feature_consumption', target.body(), { headers: { 'Idempotency-Key': key } })));
    for (const res of retried) expect(res.status, res.text).toBe(200);
    // ... and retrying them again (now all completed) replays without counting.
    const again = await Promise.all([...unanswered].map((key) => second.v4.post('add_feature_consumption', target.body(), { headers: { 'Idempotency-Key': key } })));
    for (const res of again) expect(res.headers.get('idempotent-replayed')).toBe('true');

    const distinctKeysWith200 = answered.size + unanswered.size;
    const final = await countersOf(services, accountId, target.license.id);
    expect(final.features[0]!.total).toBe(distinctKeysWith200);
    expect(final.features[0]!.gross).toBe(distinctKeysWith200);
    // The ledger entries of the requests cut off by the crash are moved by the restarted server itself.
    let entries = await services.ledger.entriesFor(accountId, target.license.id);
    for (let waited = 0; entries.length < distinctKeysWith200 && waited < 20_000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      entries = await services.ledger.entriesFor(accountId, target.license.id);
    }
    expect(entries).toHaveLength(distinctKeysWith200);
    expect(new Set(entries.map((e) => e.idempotencyKey))).toEqual(new Set([...answered, ...unanswered]));
    await second.process.stop();
  }, 90_000);

  it('two servers under one concurrent load keep every limit exact (feature consumptions, license consumptions, seats)', async () => {
    const [a, b] = await Promise.all([serverProcess(), serverProcess()]);
    const pick = (i: number) => (i % 2 === 0 ? a! : b!).v4;

    const feature = await seedV4License(services, accountId, 150);
    const featureResults = await Promise.all(Array.from({ length: 400 }, (_, i) => pick(i).post('add_feature_consumption', feature.body())));
    expect(featureResults.filter((r) => r.status === 200)).toHaveLength(150);
    for (const r of featureResults.filter((x) => x.status !== 200)) expect(r.body).toEqual({ status: 400, code: 'feature_not_enough_consumptions', message: expect.any(String) });

    const license = await seedV4License(services, accountId, 120);
    const { feature: _f, consumptions: _c, ...licenseBody } = license.body();
    const licenseResults = await Promise.all(Array.from({ length: 300 }, (_, i) => pick(i).post('add_consumption', { ...licenseBody, consumptions: 1 })));
    expect(licenseResults.filter((r) => r.status === 200)).toHaveLength(120);
    for (const r of licenseResults.filter((x) => x.status !== 200)) expect(r.body).toEqual({ status: 400, code: 'license_not_enough_consumptions', message: expect.any(String) });

    // max_activations 5, one seat taken by hw-1: 4 of 40 new devices get a seat.
    const seats = await seedV4License(services, accountId, 10);
    const { feature: _g, consumptions: _d, hardware_id: _h, ...seatBody } = seats.body();
    const activations = await Promise.all(Array.from({ length: 40 }, (_, i) => pick(i).post('activate_license', { ...seatBody, hardware_id: `device-${i}` })));
    expect(activations.filter((r) => r.status === 200)).toHaveLength(4);
    for (const r of activations.filter((x) => x.status !== 200)) expect(r.body).toEqual({ status: 400, code: 'license_activated_max_times', message: expect.any(String) });

    expect((await countersOf(services, accountId, feature.license.id)).features[0]!.total).toBe(150);
    expect((await countersOf(services, accountId, license.license.id)).consumption.total).toBe(120);
    const seated = await countersOf(services, accountId, seats.license.id);
    expect(seated.seats).toBe(5);
  }, 90_000);
});
