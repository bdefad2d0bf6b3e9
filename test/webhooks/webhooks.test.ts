import { execFileSync } from 'node:child_process';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { activate, activationBody, call, fingerprint, seedV3License, seedV3Product, type Client } from '../v3/support.js';
import { fastDelivery, payloadViolations, REFUSED_ADDRESSES, startReceiver, type Received, type Receiver } from './support.js';

const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

describe('webhooks: subscriptions, signed deliveries, retries, every event in the spec', () => {
  let t: TestServer;
  let client: Client;
  let receiver: Receiver;
  const everything: Received[] = [];

  beforeAll(async () => {
    t = await startTestServer({ env: fastDelivery });
    client = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
    receiver = await startReceiver();
  });
  afterAll(async () => {
    everything.push(...receiver.received);
    await t.stop();
    await receiver.close();
  });

  async function subscribe(events: string[], extra: Record<string, unknown> = {}, url = receiver.url) {
    const res = await call(client, 'POST', '/v3/webhooks', { url, events, ...extra });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string; signatureScheme: string };
  }

  async function seed() {
    const { productId } = await seedV3Product(t.services, t.account.id);
    const license = await seedV3License(t.services, t.account.id, productId);
    return license;
  }

  const byType = (type: string, subscription?: string) => (r: Received) => r.body.event === type && (subscription === undefined || r.headers['x-sub'] === subscription);

  it('manages subscriptions: secret once on creation, rotation, updates, 404 for unknown and foreign ids', async () => {
    const created = await subscribe(['activation.updated']);
    expect(created).toMatchObject({ url: receiver.url, events: ['activation.updated'], active: true, signatureScheme: 'standard-webhooks', healthy: true });
    expect(created.secret).toMatch(SECRET);
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
    const got = await call(client, 'GET', `/v3/webhooks/${created.id}`);
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    expect((await call(client, 'GET', '/v3/webhooks')).body.map((s: { id: string }) => s.id)).toContain(created.id);
    const rotated = await call(client, 'POST', `/v3/webhooks/${created.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(SECRET);
    expect(rotated.body.secret).not.toBe(created.secret);
    const patched = await call(client, 'PATCH', `/v3/webhooks/${created.id}`, { active: false, signatureScheme: 'vendor' });
    expect(patched).toMatchObject({ status: 200, body: { active: false, signatureScheme: 'vendor', events: ['activation.updated'] } });
    expect(await call(client, 'PATCH', `/v3/webhooks/${created.id}`, { events: ['nope'] })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await call(client, 'PATCH', `/v3/webhooks/${created.id}`, { url: 'ftp://example.org/x' })).toMatchObject({ status: 400, body: { code: 'INVALID_WEBHOOK_URL' } });
    expect(await call(client, 'POST', '/v3/webhooks', { url: receiver.url, events: [] })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await call(client, 'POST', '/v3/webhooks', { url: receiver.url, events: ['activation.updated'] }, 'wrong')).toMatchObject({ status: 401, body: { code: 'AUTHENTICATION_FAILED' } });

    const other = await t.createAccount();
    const otherClient = { baseUrl: t.baseUrl, token: other.credentials.v3AccessToken };
    for (const [method, path] of [
      ['GET', `/v3/webhooks/${created.id}`],
      ['PATCH', `/v3/webhooks/${created.id}`],
      ['DELETE', `/v3/webhooks/${created.id}`],
      ['POST', `/v3/webhooks/${created.id}/rotate-secret`],
      ['GET', `/v3/webhooks/${created.id}/deliveries`],
    ] as const) {
      expect(await call(otherClient, method, path, method === 'PATCH' ? { active: true } : undefined)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    }
    expect((await call(otherClient, 'GET', '/v3/webhooks')).body).toEqual([]);
    expect((await call(client, 'DELETE', `/v3/webhooks/${created.id}`)).status).toBe(204);
    expect((await call(client, 'GET', `/v3/webhooks/${created.id}`)).status).toBe(404);
  });

  it('a PATCH activation produces exactly one activation.updated, signed (standardwebhooks verifies) and matching the spec', async () => {
    const license = await seed();
    const fp = fingerprint('patch');
    const aid = await activate(t, license, fp);
    const sub = await subscribe(['activation.updated']);
    receiver.respond = (r) => {
      r.headers['x-sub'] = sub.id;
      return 200;
    };
    const res = await call({ baseUrl: t.baseUrl }, 'PATCH', `/v3/activations/${aid}`, activationBody(license, fp, { hostname: 'renamed', meterAttributes: [{ name: 'api-calls', usesIncrement: 3 }] }));
    expect(res.status).toBe(200);
    await receiver.waitFor((all) => all.some((r) => byType('activation.updated', sub.id)(r) && r.body.data.id === aid));
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
    const mine = receiver.received.filter((r) => byType('activation.updated', sub.id)(r) && r.body.data.id === aid);
    expect(mine).toHaveLength(1);
    const delivery = mine[0]!;
    expect(new Webhook(sub.secret).verify(delivery.rawBody, delivery.headers as Record<string, string>)).toEqual(delivery.body);
    expect(() => new Webhook(sub.secret).verify(delivery.rawBody.replace('renamed', 'renamer'), delivery.headers as Record<string, string>)).toThrow();
    expect(delivery.body.data).toMatchObject({ id: aid, hostname: 'renamed', meterAttributes: expect.arrayContaining([{ name: 'api-calls', uses: 3 }]) });
    expect(delivery.headers['webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(payloadViolations([delivery])).toEqual([]);
    await call(client, 'DELETE', `/v3/webhooks/${sub.id}`);
  });

  it('a receiver failing 3 times then succeeding gets 4 attempts, and the delivery log shows them', async () => {
    const license = await seed();
    const sub = await subscribe(['license.updated'], {}, `${receiver.url}?flaky`);
    let calls = 0;
    receiver.respond = (r) => (r.body.event === 'license.updated' && r.body.data.id === String(license.id) ? (++calls <= 3 ? 503 : 204) : 200);
    await t.services.licenseAdmin.setEnabled(t.account.id, license.id, false);
    await receiver.waitFor(() => calls >= 4);
    let log: Array<{ status: string; attemptCount: number; attempts: Array<{ statusCode: number | null; error: string | null; latencyMs: number }> }> = [];
    for (let i = 0; i < 50; i += 1) {
      log = (await call(client, 'GET', `/v3/webhooks/${sub.id}/deliveries`)).body;
      if (log[0]?.status === 'delivered') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ status: 'delivered', attemptCount: 4, nextAttemptAt: null });
    expect(log[0]!.attempts.map((a) => [a.statusCode, a.error])).toEqual([
      [503, 'HTTP 503'],
      [503, 'HTTP 503'],
      [503, 'HTTP 503'],
      [204, null],
    ]);
    expect(log[0]!.attempts.every((a) => Number.isInteger(a.latencyMs) && a.latencyMs >= 0)).toBe(true);
    const attempts = receiver.received.filter((r) => r.body.event === 'license.updated' && r.body.data.id === String(license.id));
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((a) => a.headers['webhook-id'])).size).toBe(1);
    expect(attempts[0]!.body.data).toMatchObject({ enabled: false });

    // Redelivery: same event id, a fresh attempt.
    const redelivered = await call(client, 'POST', `/v3/webhooks/${sub.id}/deliveries/${(log[0] as unknown as { id: string }).id}/redeliver`);
    expect(redelivered).toMatchObject({ status: 202, body: { status: 'pending', attemptCount: 0 } });
    await receiver.waitFor(() => calls >= 5);
    expect(receiver.received.filter((r) => r.headers['webhook-id'] === attempts[0]!.headers['webhook-id'])).toHaveLength(5);
    expect(await call(client, 'POST', `/v3/webhooks/${sub.id}/deliveries/dlv_nope/redeliver`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    await call(client, 'DELETE', `/v3/webhooks/${sub.id}`);
  });

  it('marks a delivery failed after the last attempt and the subscription unhealthy', async () => {
    const t2 = await startTestServer({ env: { ...fastDelivery, WEBHOOKS_MAX_ATTEMPTS: '3' } });
    try {
      const c2 = { baseUrl: t2.baseUrl, token: t2.credentials.v3AccessToken };
      const { productId } = await seedV3Product(t2.services, t2.account.id);
      const license = await seedV3License(t2.services, t2.account.id, productId);
      const sub = (await call(c2, 'POST', '/v3/webhooks', { url: `${receiver.url}?down`, events: ['license.updated'] })).body;
      receiver.respond = (r) => (r.body.event === 'license.updated' && r.body.data.id === String(license.id) ? 500 : 200);
      await t2.services.licenseAdmin.setEnabled(t2.account.id, license.id, false);
      let log: Json[] = [];
      for (let i = 0; i < 200 && log[0]?.status !== 'failed'; i += 1) {
        await new Promise((r) => setTimeout(r, 25));
        log = (await call(c2, 'GET', `/v3/webhooks/${sub.id}/deliveries`)).body;
      }
      expect(log[0]).toMatchObject({ status: 'failed', attemptCount: 3, nextAttemptAt: null });
      expect(log[0].attempts).toHaveLength(3);
      expect((await call(c2, 'GET', `/v3/webhooks/${sub.id}`)).body.healthy).toBe(false);
    } finally {
      await t2.stop();
    }
  });

  it('vendor scheme: Webhook-Signature is the base64 HMAC-SHA256 of the raw body keyed with the secret string (the vendor\'s webhooks page)', async () => {
    const license = await seed();
    const sub = await subscribe(['activation.created'], { signatureScheme: 'vendor' }, `${receiver.url}?vendor`);
    receiver.respond = () => 200;
    const aid = await activate(t, license, fingerprint('vendor'));
    const [delivery] = (await receiver.waitFor((all) => all.some((r) => r.body.event === 'activation.created' && r.body.data.id === aid))).filter(
      (r) => r.body.event === 'activation.created' && r.body.data.id === aid,
    );
    // Computed from the vendor's description (https://docs.cryptlex.com/webhooks), by openssl, not by the server's code.
    const expected = execFileSync('openssl', ['dgst', '-sha256', '-hmac', sub.secret, '-binary'], { input: delivery!.rawBody }).toString('base64');
    expect(delivery!.headers['webhook-signature']).toBe(expected);
    expect(delivery!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(() => new Webhook(sub.secret).verify(delivery!.rawBody, delivery!.headers as Record<string, string>)).toThrow();
    await call(client, 'DELETE', `/v3/webhooks/${sub.id}`);
  });

  it('raises every event type (both dialects), each payload valid against the spec', async () => {
    const license = await seed();
    const sub = await subscribe(['activation.created', 'activation.updated', 'activation.deleted', 'license.updated', 'consumption.added', 'meter-attribute.limit-reached'], {}, `${receiver.url}?all`);
    receiver.respond = () => 200;
    const fp = fingerprint('all');
    const aid = await activate(t, license, fp);
    const increment = await call({ baseUrl: t.baseUrl }, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 150, activationId: aid, accountId: '' });
    expect(increment.status).toBe(200);
    await t.services.licenseAdmin.updateFeatures(t.account.id, license.id, [{ code: 'api-calls', max: 200 }, { code: 'export' }]);
    // License API v4 consumption (same domain service as the v4 route).
    const v4 = await t.services.consumption.consume({ accountId: t.account.id, license: { licenseId: license.id }, target: { scope: 'feature', code: 'api-calls' }, amount: 2, seat: { hardwareId: fp }, negatives: 'policy', event: 'consumption_add' });
    expect(v4.meter.total).toBe(152);
    expect((await call(client, 'DELETE', `/v3/activations/${aid}`)).status).toBe(204);
    const types = ['activation.created', 'activation.updated', 'activation.deleted', 'license.updated', 'consumption.added', 'meter-attribute.limit-reached'];
    const mine = (all: Received[]) => all.filter((r) => r.headers['webhook-id'] !== undefined && (r.body.data.id === aid || r.body.data.licenseId === String(license.id) || r.body.data.id === String(license.id)));
    await receiver.waitFor((all) => types.every((type) => mine(all).some((r) => r.body.event === type)) && mine(all).filter((r) => r.body.event === 'consumption.added').length === 2);
    const got = mine(receiver.received);
    expect(got.find((r) => r.body.event === 'meter-attribute.limit-reached')!.body.data).toEqual({ licenseId: String(license.id), activationId: aid, name: 'api-calls', allowedUses: 150, totalUses: 150 });
    expect(got.filter((r) => r.body.event === 'consumption.added').map((r) => r.body.data)).toEqual([
      { licenseId: String(license.id), activationId: aid, meterAttribute: 'api-calls', amount: 150, totalUses: 150, allowedUses: 150, grossUses: 150 },
      { licenseId: String(license.id), activationId: aid, meterAttribute: 'api-calls', amount: 2, totalUses: 152, allowedUses: 200, grossUses: 152 },
    ]);
    // Per-license order: consumption, limit, license update, consumption.
    expect(got.filter((r) => !r.body.event.startsWith('activation.')).map((r) => r.body.event)).toEqual([
      'consumption.added',
      'meter-attribute.limit-reached',
      'license.updated',
      'consumption.added',
    ]);
    expect(got.filter((r) => r.body.event.startsWith('activation.')).map((r) => r.body.event)).toEqual(['activation.created', 'activation.updated', 'activation.deleted']);
    expect(payloadViolations(got)).toEqual([]);
    await call(client, 'DELETE', `/v3/webhooks/${sub.id}`);
  });

  it('delivers consumption.threshold-reached with the documented payload: v3 increments and activation updates, v4 consumptions', async () => {
    const license = await seed();
    const sub = await subscribe(['consumption.threshold-reached'], {}, `${receiver.url}?thresholds`);
    receiver.respond = () => 200;
    const fp = fingerprint('thresholds');
    const aid = await activate(t, license, fp);
    // api-calls: 150 allowed, thresholds 80 % (120) and 100 % (150). A v3 increment to 119, then an activation update to 121.
    expect((await call({ baseUrl: t.baseUrl }, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 119, activationId: aid, accountId: '' })).status).toBe(200);
    expect((await call(client, 'PATCH', `/v3/activations/${aid}`, { ...activationBody(license, fp), meterAttributes: [{ name: 'api-calls', usesIncrement: 2 }] })).status).toBe(200);
    // The License API: the last 29 uses reach 100 %.
    await t.services.consumption.consume({ accountId: t.account.id, license: { licenseId: license.id }, target: { scope: 'feature', code: 'api-calls' }, amount: 29, seat: { hardwareId: fp }, negatives: 'policy', event: 'consumption_add' });
    const mine = (all: Received[]) => all.filter((r) => byType('consumption.threshold-reached')(r) && r.body.data.licenseId === String(license.id));
    await receiver.waitFor((all) => mine(all).length >= 2);
    const got = mine(receiver.received);
    expect(got.map((r) => ({ ...r.body.data, at: typeof r.body.data.at }))).toEqual([
      { licenseId: String(license.id), meterAttribute: 'api-calls', thresholdPercent: 80, thresholdUses: 120, limit: 150, totalUses: 121, period: null, periodEndsAt: null, at: 'string' },
      { licenseId: String(license.id), meterAttribute: 'api-calls', thresholdPercent: 100, thresholdUses: 150, limit: 150, totalUses: 150, period: null, periodEndsAt: null, at: 'string' },
    ]);
    for (const r of got) expect(r.body.data.at).toBe(r.body.triggeredAt);
    expect(payloadViolations(got)).toEqual([]);
    await call(client, 'DELETE', `/v3/webhooks/${sub.id}`);
  });

  it('every payload the server sent in this file matches its schema in the spec', () => {
    expect(receiver.received.length).toBeGreaterThan(10);
    expect(payloadViolations(receiver.received)).toEqual([]);
  });
});

describe('webhooks: target safety', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false', WEBHOOKS_DISPATCHER: 'false' } });
  });
  afterAll(() => t.stop());

  it('refuses private, loopback and link-local targets (literal or resolved) and non-http schemes without the flag', async () => {
    const client = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/x',
      'http://192.168.1.1/x',
      'http://172.16.0.1/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://[fe80::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://0.0.0.0/x',
      'file:///etc/passwd',
      'gopher://example.org/',
      'not a url',
    ]) {
      const res = await call(client, 'POST', '/v3/webhooks', { url, events: ['activation.updated'] });
      expect({ url, status: res.status, code: res.body.code }).toEqual({ url, status: 400, code: 'INVALID_WEBHOOK_URL' });
    }
    expect((await call(client, 'GET', '/v3/webhooks')).body).toEqual([]);
    // A public address literal is accepted (no request is made at subscription time).
    expect((await call(client, 'POST', '/v3/webhooks', { url: 'https://93.184.215.14/hook', events: ['activation.updated'] })).status).toBe(201);
  });

  it('refuses every non-public address form at save time, on create and on update, and accepts public ones (embedded included)', async () => {
    const client = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
    const before = (await call(client, 'GET', '/v3/webhooks')).body as unknown[];
    const accepted = await call(client, 'POST', '/v3/webhooks', { url: 'https://93.184.215.14/accepted', events: ['activation.updated'] });
    expect(accepted.status).toBe(201);
    const id = (accepted.body as { id: string }).id;
    for (const { address, family } of REFUSED_ADDRESSES) {
      const url = `https://${family === 6 ? `[${address}]` : address}/hook`;
      const created = await call(client, 'POST', '/v3/webhooks', { url, events: ['activation.updated'] });
      const updated = await call(client, 'PATCH', `/v3/webhooks/${id}`, { url });
      expect({ url, created: [created.status, created.body.code], updated: [updated.status, updated.body.code] }).toEqual({
        url,
        created: [400, 'INVALID_WEBHOOK_URL'],
        updated: [400, 'INVALID_WEBHOOK_URL'],
      });
    }
    const list = (await call(client, 'GET', '/v3/webhooks')).body as Array<{ id: string; url: string }>;
    expect(list).toHaveLength(before.length + 1);
    expect(list.find((w) => w.id === id)?.url).toBe('https://93.184.215.14/accepted');
    for (const url of ['https://[::ffff:93.184.215.14]/hook', 'https://[64:ff9b::808:808]/hook', 'https://[2002:808:808::1]/hook', 'https://[2606:4700::1111]/hook']) {
      const res = await call(client, 'POST', '/v3/webhooks', { url, events: ['activation.updated'] });
      expect({ url, status: res.status }).toEqual({ url, status: 201 });
    }
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
