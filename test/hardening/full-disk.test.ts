/**
 * The disk under the embedded engine fills up while the server runs (`npm start` mode: the engine in
 * the server's process, DATA_DIR on a small tmpfs this test mounts). Every write the server cannot
 * make durable answers 503 in its dialect's body, `/readyz` says 503, nothing refused is counted, and
 * once space is freed the server works again without a restart; everything acknowledged before, and
 * after, survives a restart.
 *
 * Engine-only and root-only (it mounts a file system); skipped against a real MongoDB.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer, type RunningServer } from '../../server/server.js';
import type { AccountCredentials } from '../../server/domain/accounts.js';
import { V4Client } from '../v4/signed-fetch.js';
import { seedV4License } from './support/seed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tryMount(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes a file until the file system is full; returns its path. */
function fillDisk(dir: string): string {
  const file = path.join(dir, 'filler.bin');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  // Smaller writes too, so not even a journal record fits.
  const fd2 = openSync(path.join(dir, 'filler-small.bin'), 'w');
  try {
    for (;;) writeSync(fd2, Buffer.alloc(512, 1));
  } catch {
    // full
  } finally {
    closeSync(fd2);
  }
  return file;
}

const mountPoint = mkdtempSync(path.join(tmpdir(), 'full-disk-'));
const mounted = !process.env.MONGODB_URI && process.getuid?.() === 0 && tryMount(mountPoint);
if (!mounted) rmSync(mountPoint, { recursive: true, force: true });

describe.skipIf(!mounted)('faults: the data disk fills up (embedded engine in the server process)', () => {
  const dataDir = path.join(mountPoint, 'db');
  const secretsKey = randomBytes(32).toString('base64');
  let server: RunningServer;
  let credentials: AccountCredentials;
  let accountId: number;
  let client: V4Client;

  const start = async () => {
    const config = loadConfig({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, SECRETS_KEY: secretsKey, LOG_LEVEL: 'silent', RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0', OUTBOX_REPAIR_AFTER_MS: '200', OUTBOX_REPAIR_INTERVAL_MS: '200', IDEMPOTENCY_LOCK_MS: '500' });
    server = await startServer({ config, logger: createLogger('silent'), print: () => undefined });
  };

  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    await start();
    ({ account: { id: accountId }, credentials } = await server.services.accounts.createAccount({ name: 'full-disk' }));
    const key = await server.services.accounts.signingKey(accountId);
    client = new V4Client(server.url, credentials, key.publicKeyPem);
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    try {
      execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    } catch {
      // already unmounted
    }
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('answers 503 for writes it cannot make durable, 503 on /readyz, counts nothing refused, and recovers when space is freed', async () => {
    const { license, body } = await seedV4License(server.services, accountId, 1_000);
    const consume = (key: string) => client.post('add_feature_consumption', body(), { headers: { 'Idempotency-Key': key } });
    for (let i = 0; i < 20; i += 1) expect((await consume(`before-${i}`)).status).toBe(200);

    const filler = fillDisk(mountPoint);
    // The journal's last page may still hold a record or two: keep sending keys until one is refused.
    const answers = new Map<string, number>();
    let firstRefused = -1;
    for (let i = 0; i < 200 && firstRefused < 0; i += 1) {
      const res = await consume(`full-${i}`);
      answers.set(`full-${i}`, res.status);
      if (res.status !== 200) {
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ status: 503, code: 'service_unavailable' });
        firstRefused = i;
      }
    }
    expect(firstRefused).toBeGreaterThanOrEqual(0);
    // From then on every write is refused (none acknowledged), and readiness says so.
    for (let i = 0; i < 10; i += 1) {
      const res = await consume(`refused-${i}`);
      expect(res.status).toBe(503);
      answers.set(`refused-${i}`, res.status);
    }
    expect((await client.post('add_feature_consumption', body())).status).toBe(503);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    // Reads still work, and show none of the refused requests made after the first refusal.
    const counted = [...answers.values()].filter((s) => s === 200).length;
    const during = (await server.services.licenses.getLicense(accountId, license.id)).features[0]!.total;
    expect(during).toBeGreaterThanOrEqual(20 + counted);
    expect(during).toBeLessThanOrEqual(20 + counted + 1); // the first refused one may have been counted before a later step failed

    rmSync(filler);
    rmSync(path.join(mountPoint, 'filler-small.bin'), { force: true });
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${server.url}/readyz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('/readyz stayed 503 after space was freed');
      await sleep(100);
    }
    // Every refused key, retried, counts exactly once: the refused-while-failed ones now, the first
    // refused one now or (if its counter write had made it to disk) as a replay of that change.
    for (const [key, status] of answers) {
      if (status === 200) continue;
      const retried = await consume(key);
      expect(retried.status).toBe(200);
      if (key.startsWith('refused-')) expect(retried.headers.get('idempotent-replayed')).toBeNull();
    }
    const expected = 20 + answers.size + 1;
    expect((await consume('after')).body.total_consumptions).toBe(expected);

    await server.close();
    await start();
    const restarted = await server.services.licenses.getLicense(accountId, license.id);
    expect(restarted.features[0]!.total).toBe(expected);
    const ledger = await server.services.ledger.entriesFor(accountId, license.id);
    expect(ledger).toHaveLength(expected);
    expect(ledger.reduce((sum, e) => sum + e.amount, 0)).toBe(expected);
    expect(new Set(ledger.map((e) => e.idempotencyKey)).size).toBe(expected);
  });
});
