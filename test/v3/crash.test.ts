import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from './support.js';
import { killHard } from '../support/child-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'test/v3/crash-server.ts');

interface Started {
  child: ChildProcess;
  info: { url: string; accountId?: number; licenseId?: number; activationIds?: string[] };
}

function startChild(env: Record<string, string>): Promise<Started> {
  return new Promise((resolve, reject) => {
    // `node --import tsx` (not the tsx wrapper, which forks): the killed pid is the server itself.
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve({ child, info: JSON.parse(line) as Started['info'] }));
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${stderr.slice(-2000)}`)));
  });
}

describe('Web API v3: crash consistency', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'v3-crash-'));
  const dbName = `crash_${randomBytes(6).toString('hex')}`;
  const token = `v3at_${randomBytes(24).toString('base64url')}`;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    SECRETS_KEY: randomBytes(32).toString('base64'),
    BOOTSTRAP_V3_ACCESS_TOKEN: token,
    ...(process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI, MONGODB_DB_NAME: dbName } : { DATA_DIR: dataDir }),
  };
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) await killHard(child);
    rmSync(dataDir, { recursive: true, force: true });
    if (process.env.MONGODB_URI) {
      const client = new MongoClient(process.env.MONGODB_URI);
      await client.connect();
      await client.db(dbName).dropDatabase();
      await client.close();
    }
  });

  it('keeps per-activation uses summing to the license total when the server is killed mid-stream', async () => {
    const first = await startChild({ ...env, CRASH_SEED: '1' });
    children.push(first.child);
    const ids = first.info.activationIds!;
    let done = 0;
    let stop = false;
    const increment = (baseUrl: string, activationId: string, amount: number) =>
      call({ baseUrl }, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: amount, activationId, accountId: '' });
    // 24 clients increment (and now and then decrement) until the server dies under them.
    const workers = Array.from({ length: 24 }, async (_, w) => {
      for (let i = 0; !stop; i += 1) {
        try {
          await increment(first.info.url, ids[(w + i) % 4]!, i % 5 === 4 ? -1 : 1);
          done += 1;
        } catch {
          return; // the server is gone
        }
      }
    });
    while (done < 120) await new Promise((r) => setTimeout(r, 5));
    await killHard(first.child);
    stop = true;
    await Promise.all(workers);

    const second = await startChild(env);
    children.push(second.child);
    const bearer = { baseUrl: second.info.url, token };
    const usesOf = async (id: string) => {
      const res = await call(bearer, 'GET', `/v3/activations/${id}`);
      expect(res.status).toBe(200);
      return res.body.meterAttributes.find((m: { name: string }) => m.name === 'api-calls').uses as number;
    };
    const check = async () => {
      const perActivation = await Promise.all(ids.map(usesOf));
      const totals = (await increment(second.info.url, ids[0]!, 0)).body;
      for (const uses of perActivation) expect(uses).toBeGreaterThanOrEqual(0);
      expect(perActivation.reduce((a, b) => a + b, 0)).toBe(totals.licenseTotalUses);
      expect(totals.licenseTotalUses).toBeLessThanOrEqual(totals.licenseAllowedUses);
      expect(totals.licenseGrossUses).toBeGreaterThanOrEqual(totals.licenseTotalUses);
      return totals as { licenseTotalUses: number; licenseAllowedUses: number };
    };
    const after = await check();
    expect(after.licenseTotalUses).toBeGreaterThan(0);

    // The restarted server goes on counting exactly up to the limit.
    const room = after.licenseAllowedUses - after.licenseTotalUses;
    const results = await Promise.all(Array.from({ length: room + 20 }, (_, i) => increment(second.info.url, ids[i % 4]!, 1)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(room);
    expect((await check()).licenseTotalUses).toBe(after.licenseAllowedUses);
    await killHard(second.child);
  }, 60_000);
});
