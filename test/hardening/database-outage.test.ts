/**
 * The database goes away under load and comes back, while the server keeps running: requests answer
 * 503 in their dialect's error body (never 500, never a hang), `/readyz` says 503, nothing a failed
 * request did is counted, and everything works again once the database is back.
 *
 * The engine runs as its own process so it can be stopped; against a real MongoDB (MONGODB_URI) this
 * file is skipped (a test cannot stop that server).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer, type RunningServer } from '../../server/server.js';
import type { AccountCredentials } from '../../server/domain/accounts.js';
import { V4Client } from '../v4/signed-fetch.js';
import { call } from '../v3/support.js';
import { startEngineProcess, type EngineProcess } from './support/processes.js';
import { countersOf, seedV3Activation, seedV4License } from './support/seed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await run();
  return { value, ms: Date.now() - started };
}

describe.skipIf(!!process.env.MONGODB_URI)('faults: the database goes away mid-load and comes back', () => {
  let dataDir: string;
  let engine: EngineProcess;
  let server: RunningServer;
  let accountId: number;
  let credentials: AccountCredentials;

  // Each attempt gets its own engine, data and server. A rarely seen driver state (README, "Security
  // and reliability") where the driver never reconnects to the restarted engine is repaired by the
  // reconnection watchdog (DB_RECONNECT_WATCHDOG_MS, short here); if recovery still fails, the test
  // fails with a diagnosis.
  // The test is retried once (a fresh engine, data and server per attempt) as a guard while the root
  // cause of the rare stuck reconnection (README, Security and reliability) is not known.
  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'outage-'));
    engine = await startEngineProcess(dataDir);
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      MONGODB_URI: engine.uri,
      MONGODB_DB_NAME: `outage_${randomBytes(4).toString('hex')}`,
      SECRETS_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'silent',
      DB_SERVER_SELECTION_TIMEOUT_MS: '1000',
      DB_CONNECT_TIMEOUT_MS: '2000',
      DB_RECONNECT_WATCHDOG_MS: '5000',
      IDEMPOTENCY_LOCK_MS: '1000',
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_PER_KEY: '0',
    });
    server = await startServer({ config, logger: createLogger(process.env.TEST_LOG_LEVEL === 'error' ? 'error' : 'silent'), print: () => undefined });
    ({ account: { id: accountId }, credentials } = await server.services.accounts.createAccount({ name: 'outage' }));
  });

  afterEach(async () => {
    await server?.close().catch(() => undefined);
    await engine?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 while the database is away, counts nothing a failed request did, and recovers without a restart', { timeout: 90_000, retry: 1 }, async () => {
    const services = server.services;
    const loadTarget = await seedV4License(services, accountId, 1_000_000);
    const bystander = await seedV3Activation(services, accountId);
    const key = await services.accounts.signingKey(accountId);
    const v4 = new V4Client(server.url, credentials, key.publicKeyPem);
    const v3Increment = (amount: number) => call({ baseUrl: server.url }, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: amount, activationId: bystander.activationId, accountId: '' });
    const v1Get = () =>
      fetch(`${server.url}/api/v1/licenses/${bystander.license.id}/`, { headers: { Authorization: `Api-Key ${credentials.managementApiKey}` } }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const readyz = () => fetch(`${server.url}/readyz`).then(async (r) => ({ status: r.status, body: await r.json() }));

    expect((await v3Increment(5)).status).toBe(200);
    const bystanderBefore = await countersOf(services, accountId, bystander.license.id);
    const bystanderLedgerBefore = (await services.ledger.entriesFor(accountId, bystander.license.id)).length;

    // Load: 8 clients consume one at a time, every request with its own Idempotency-Key.
    const outcomes = new Map<string, number>();
    const failureBodies: unknown[] = [];
    let stopLoad = false;
    const workers = Array.from({ length: 8 }, async () => {
      while (!stopLoad) {
        const idempotencyKey = randomUUID();
        const res = await v4.post('add_feature_consumption', loadTarget.body(), { headers: { 'Idempotency-Key': idempotencyKey } }).catch((err: unknown) => ({ status: 0, body: String(err) }));
        outcomes.set(idempotencyKey, res.status);
        if (res.status !== 200) {
          failureBodies.push(res.body);
          await sleep(20);
        }
      }
    });
    const count = (status: number) => [...outcomes.values()].filter((s) => s === status).length;
    await until('some load', async () => count(200) >= 40);

    await engine.stop();

    // While it is away: every dialect answers 503 in its own error body, promptly.
    await until('/readyz to say 503', async () => (await readyz()).status === 503);
    expect(await readyz()).toEqual({ status: 503, body: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
    const v3 = await timed(() => v3Increment(1));
    expect(v3.value).toEqual({ status: 503, body: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
    const v1 = await timed(v1Get);
    expect(v1.value).toEqual({ status: 503, body: { status: 503, code: 'service_unavailable', message: expect.any(String) } });
    const v1Reset = await fetch(`${server.url}/api/v1/licenses/${bystander.license.id}/reset_consumption/`, { method: 'POST', headers: { Authorization: `Api-Key ${credentials.managementApiKey}` } });
    expect(v1Reset.status).toBe(503);
    const v4Res = await timed(() => v4.post('add_feature_consumption', loadTarget.body()));
    expect(v4Res.value.status).toBe(503);
    expect(v4Res.value.body).toEqual({ status: 503, code: 'service_unavailable', message: expect.any(String) });
    for (const ms of [v3.ms, v1.ms, v4Res.ms]) expect(ms).toBeLessThan(5_000);
    expect(count(503)).toBeGreaterThan(0);

    // The database comes back on the same port and data: the same server process recovers by itself.
    engine = await startEngineProcess(dataDir, engine.port);
    const okAtRestart = count(200);
    // Recovery normally takes well under a second. Rarely the server's driver has been seen not to
    // reconnect by itself while a fresh client pings the restarted engine fine; the watchdog (5 s
    // here) then rebuilds the client. The message below tells the two cases apart if it still fails.
    await until('/readyz to say 200 again', async () => (await readyz()).status === 200, 20_000).catch(async (err: Error) => {
      const { MongoClient } = await import('mongodb');
      const probe = new MongoClient(engine.uri, { serverSelectionTimeoutMS: 2000 });
      const direct = await probe.db('admin').command({ ping: 1 }).then((r) => JSON.stringify(r), (e: Error) => `${e.name}: ${e.message}`);
      await probe.close();
      throw new Error(`${err.message}: readyz ${JSON.stringify(await readyz())}, 200s since restart ${count(200) - okAtRestart}, 503s ${count(503)}, engine exit ${engine.child.exitCode}, direct ping ${direct}`);
    });
    const okBeforeRecovery = count(200);
    await until('load to flow again', async () => count(200) >= okBeforeRecovery + 40);
    stopLoad = true;
    await Promise.all(workers);
    // A load request is answered 200 or 503, or - when the outage held its write past the deadline of
    // its Idempotency-Key's claim, so the guarded write changed nothing - 409 concurrent_modification
    // (the documented answer to a late write, test/v4/idempotency-takeover.test.ts); the retries below
    // count every failed one exactly once.
    expect([...new Set(outcomes.values())].every((s) => s === 200 || s === 503 || s === 409)).toBe(true);
    expect(count(503)).toBeGreaterThan(0);
    for (const body of failureBodies) {
      expect([{ status: 503, code: 'service_unavailable', message: expect.any(String) }, { status: 409, code: 'concurrent_modification', message: 'The change could not be made in time; retry the request' }]).toContainEqual(body);
    }

    // No phantom counts: at most the requests whose outcome is unknown (503 mid-write) may have counted.
    const ok = count(200);
    const failed = [...outcomes].filter(([, s]) => s !== 200).map(([k]) => k);
    const totalBeforeRetries = (await countersOf(services, accountId, loadTarget.license.id)).features[0]!.total;
    expect(totalBeforeRetries).toBeGreaterThanOrEqual(ok);
    expect(totalBeforeRetries).toBeLessThanOrEqual(ok + failed.length);

    // Retrying every failed request with its Idempotency-Key counts each exactly once.
    for (let i = 0; i < failed.length; i += 8) {
      const batch = failed.slice(i, i + 8);
      const retried = await Promise.all(batch.map((k) => v4.post('add_feature_consumption', loadTarget.body(), { headers: { 'Idempotency-Key': k } })));
      for (const res of retried) expect(res.status).toBe(200);
    }
    const after = await countersOf(services, accountId, loadTarget.license.id);
    expect(after.features[0]!.total).toBe(outcomes.size);
    expect(after.features[0]!.gross).toBe(outcomes.size);

    // The ledger agrees: one entry per key, no more.
    await services.eventOutbox.repair(new Date(Date.now() + 60_000));
    const entries = await services.ledger.entriesFor(accountId, loadTarget.license.id);
    expect(entries).toHaveLength(outcomes.size);
    expect(new Set(entries.map((e) => e.idempotencyKey))).toEqual(new Set(outcomes.keys()));

    // Whatever was attempted only while the database was away changed nothing.
    expect(await countersOf(services, accountId, bystander.license.id)).toEqual(bystanderBefore);
    expect(await services.ledger.entriesFor(accountId, bystander.license.id)).toHaveLength(bystanderLedgerBefore);
    expect((await v3Increment(1)).status).toBe(200);
    expect((await v1Get()).status).toBe(200);
  });
});
