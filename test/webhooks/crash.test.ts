import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { activationBody, call, fingerprint } from '../v3/support.js';
import { payloadViolations, startReceiver, type Receiver } from './support.js';
import { crashDatabase, killHard } from '../support/child-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'test/webhooks/crash-server.ts');

interface Info {
  url: string;
  licenseId?: number;
  activationId?: string;
  key?: string;
  productId?: number;
  accountId?: number;
}

function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; info: Info }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as Info & { msg?: string };
      if (typeof parsed.url === 'string' && parsed.msg === undefined) resolve({ child, info: parsed });
      else if (process.env.CRASH_DEBUG) process.stderr.write(`${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${stderr.slice(-2000)}`)));
  });
}

describe('webhooks: crash consistency', () => {
  const { env, token, cleanup } = crashDatabase('webhooks-crash');
  const children: ChildProcess[] = [];
  let receiver: Receiver | undefined;

  afterAll(async () => {
    for (const child of children) await killHard(child);
    await receiver?.close();
    await cleanup();
  });

  it('delivers the events of changes made just before a SIGKILL once the server is back', async () => {
    receiver = await startReceiver();
    const first = await startChild({ ...env, CRASH_SEED: '1', CRASH_NO_SETTLE: '1' });
    children.push(first.child);
    const { activationId: aid, licenseId, key, productId, accountId } = first.info;
    const client = { baseUrl: first.info.url, token };
    const sub = await call(client, 'POST', '/v3/webhooks', { url: receiver.url, events: ['activation.updated', 'consumption.added'] });
    expect(sub.status).toBe(201);
    // The state changes commit (with their event entries in the outboxes); then the process dies.
    const increment = await call({ baseUrl: first.info.url }, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 7, activationId: aid, accountId: '' });
    expect(increment.status).toBe(200);
    const patch = await call({ baseUrl: first.info.url }, 'PATCH', `/v3/activations/${aid}`, activationBody({ key: key!, productId: productId!, accountId: accountId! }, fingerprint('crash'), { hostname: 'after-crash' }));
    expect(patch.status).toBe(200);
    // The embedded engine group-commits acknowledged writes within 50 ms: let them reach the disk
    // (the event entries are in the same writes as the changes, so they survive or vanish together).
    await new Promise((r) => setTimeout(r, 300));
    await killHard(first.child);
    expect(receiver.received).toHaveLength(0);

    const second = await startChild(env);
    children.push(second.child);
    await receiver.waitFor((all) => all.length >= 3, 20_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(receiver!.received.map((r) => [r.body.event, r.body.data.hostname]))}`);
    });
    await new Promise((r) => setTimeout(r, 300));
    const got = receiver.received;
    expect(got.map((r) => r.body.event).sort()).toEqual(['activation.updated', 'activation.updated', 'consumption.added']);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(3);
    for (const r of got) expect(new Webhook(sub.body.secret).verify(r.rawBody, r.headers as Record<string, string>)).toEqual(r.body);
    expect(got.find((r) => r.body.event === 'consumption.added')!.body.data).toMatchObject({ licenseId: String(licenseId), activationId: aid, meterAttribute: 'api-calls', amount: 7, totalUses: 7 });
    // Rebuilt from the current state: the activation as it is now.
    for (const r of got.filter((x) => x.body.event === 'activation.updated')) expect(r.body.data).toMatchObject({ id: aid, hostname: 'after-crash', meterAttributes: expect.arrayContaining([{ name: 'api-calls', uses: 7 }]) });
    expect(payloadViolations(got)).toEqual([]);
  }, 60_000);
});
