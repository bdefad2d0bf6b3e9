import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from './support.js';
import { crashDatabase, killHard, startServerChild } from '../support/child-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'test/v3/crash-server.ts');

interface Info {
  url: string;
  accountId?: number;
  licenseId?: number;
  activationIds?: string[];
}

const startChild = (env: Record<string, string>) => startServerChild<Info>(script, root, env);

describe('Web API v3: crash consistency', () => {
  const { env, token, cleanup } = crashDatabase('v3-crash');
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) await killHard(child);
    await cleanup();
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
