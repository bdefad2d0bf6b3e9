import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { DEFAULT_DISPATCHER_OPTIONS, retryDelayMs, WebhookDispatcher } from '../../server/webhooks/dispatcher.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { call } from '../v3/support.js';
import { startReceiver, type Receiver } from './support.js';

/** Events of the two-dispatcher test: 10 subjects, every 7th first attempt failing (~11 attempts a second here). */
const EVENTS = 250;

describe('webhook dispatchers', () => {
  let t: TestServer;
  let receiver: Receiver;
  beforeAll(async () => {
    // The server's own dispatcher is off: the test runs two dispatchers on its database.
    t = await startTestServer({ env: { WEBHOOKS_DISPATCHER: 'false' } });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await t.stop();
    await receiver.close();
  });

  function dispatcher() {
    const s = t.services;
    return new WebhookDispatcher({
      deliveries: s.webhookDeliveries,
      subscriptions: s.webhookSubscriptions,
      events: s.events,
      webhooks: s.webhooks,
      clock: s.clock,
      logger: createLogger('silent'),
      options: { ...DEFAULT_DISPATCHER_OPTIONS, pollIntervalMs: 10, retryBaseMs: 20, retryMaxDelayMs: 100, allowPrivateTargets: true },
    });
  }

  it(`two dispatchers on one database deliver each of ${EVENTS} events exactly once, in order per subject`, async () => {
    const client = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
    expect((await call(client, 'POST', '/v3/webhooks', { url: receiver.url, events: ['license.updated'] })).status).toBe(201);
    // Every 7th first attempt fails, so retries interleave with first attempts.
    const failedOnce = new Set<string>();
    const succeeded = new Set<string>();
    receiver.respond = (r) => {
      const id = String(r.headers['webhook-id']);
      if (Number(r.body.data.n) % 7 === 0 && !failedOnce.has(id)) {
        failedOnce.add(id);
        return 500;
      }
      succeeded.add(id);
      return 200;
    };
    const createdAt = t.services.clock.now();
    // Recorded but not fanned out yet: the dispatchers' maintenance fans them out.
    const first = await t.services.events.reserveSeqs(EVENTS);
    const events = Array.from({ length: EVENTS }, (_, n) => ({ id: randomUUID(), accountId: t.account.id, type: 'license.updated', subject: `license:${n % 10}`, data: { n, lane: n % 10 }, createdAt, seq: first + n, fannedOut: false }));
    expect(await t.services.events.insertMany(events)).toHaveLength(EVENTS);
    const ids = events.map((e) => e.id);
    const a = dispatcher();
    const b = dispatcher();
    a.start();
    b.start();
    try {
      // A liveness bound, not a speed target (about 11 attempts per second on the embedded engine here).
      await receiver.waitFor(() => succeeded.size >= EVENTS, 100_000);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const perId = new Map<string, number>();
    for (const r of receiver.received) perId.set(String(r.headers['webhook-id']), (perId.get(String(r.headers['webhook-id'])) ?? 0) + 1);
    expect(perId.size).toBe(EVENTS);
    expect([...perId.keys()].sort()).toEqual([...ids].sort());
    for (const [id, count] of perId) {
      const n = receiver.received.find((r) => r.headers['webhook-id'] === id)!.body.data.n as number;
      expect({ n, count }).toEqual({ n, count: n % 7 === 0 ? 2 : 1 });
    }
    // Per subject: successful deliveries arrive in recording order.
    for (let lane = 0; lane < 10; lane += 1) {
      const ns = receiver.received.filter((r) => r.body.data.lane === lane).map((r) => r.body.data.n as number);
      const successful = ns.filter((n, i) => !(n % 7 === 0 && ns.indexOf(n) === i));
      expect(successful).toEqual([...successful].sort((x, y) => x - y));
      expect(new Set(successful).size).toBe(EVENTS / 10);
    }
    const deliveries = await t.services.webhookDeliveries.list(t.account.id, (await t.services.webhooks.list(t.account.id))[0]!.id, 1000);
    expect(deliveries).toHaveLength(EVENTS);
    expect(deliveries.filter((d) => d.status !== 'delivered' || d.attemptCount !== d.attempts.length)).toEqual([]);
  }, 130_000);

  it('the default schedule makes at least 8 attempts over at least 24 hours, even with the least jitter', () => {
    const { maxAttempts } = DEFAULT_DISPATCHER_OPTIONS;
    expect(maxAttempts).toBeGreaterThanOrEqual(8);
    let least = 0;
    for (let made = 1; made < maxAttempts; made += 1) least += retryDelayMs(made, DEFAULT_DISPATCHER_OPTIONS, () => 0);
    expect(least).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(retryDelayMs(1, DEFAULT_DISPATCHER_OPTIONS, () => 0)).toBe(24_000);
    expect(retryDelayMs(1, DEFAULT_DISPATCHER_OPTIONS, () => 1)).toBe(36_000);
    expect(retryDelayMs(3, DEFAULT_DISPATCHER_OPTIONS, () => 0.5)).toBe(270_000);
  });
});
