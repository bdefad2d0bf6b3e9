/**
 * TRUST_PROXY: behind a trusted proxy the client address is the one the proxy forwards
 * (X-Forwarded-For), so two clients behind one load balancer get a rate-limit bucket each;
 * without it the socket's peer is the client, and X-Forwarded-For (which any client can write)
 * changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildProduct } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { send } from './support/wire.js';

describe('TRUST_PROXY and per-IP rate limits', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  const from = (client: string) => send(t!.baseUrl, 'GET', '/v3/accounts/me', { headers: { 'X-Forwarded-For': client } });
  const limits = { RATE_LIMIT_PER_IP: '2', RATE_LIMIT_PER_KEY: '0', RATE_LIMIT_WINDOW_MS: '60000' };

  it.each([['1'], ['loopback'], ['127.0.0.1/8, ::1']])('TRUST_PROXY=%s: two forwarded clients get separate buckets', async (trustProxy) => {
    t = await startTestServer({ env: { ...limits, TRUST_PROXY: trustProxy } });
    expect((await from('203.0.113.1')).status).toBe(401);
    expect((await from('203.0.113.1')).status).toBe(401);
    const third = await from('203.0.113.1');
    expect(third.status).toBe(429);
    expect(third.body).toEqual({ code: 'RATE_LIMITED', message: 'Too many requests from this client address; retry after the time in Retry-After' });
    expect((await from('203.0.113.2')).status).toBe(401);
    expect((await from('203.0.113.2')).status).toBe(401);
    expect((await from('203.0.113.2')).status).toBe(429);
  });

  it('off (the default): X-Forwarded-For is ignored and both share the socket address\'s bucket', async () => {
    t = await startTestServer({ env: limits });
    expect((await from('203.0.113.1')).status).toBe(401);
    expect((await from('203.0.113.2')).status).toBe(401);
    const third = await from('203.0.113.3');
    expect(third.status).toBe(429);
    expect(third.body).toEqual({ code: 'RATE_LIMITED', message: 'Too many requests from this client address; retry after the time in Retry-After' });
  });

  it('a trusted proxy\'s X-Forwarded-Host and -Proto make the links, and are validated like Host', async () => {
    t = await startTestServer({ env: { TRUST_PROXY: 'loopback' } });
    for (let i = 0; i < 2; i += 1) await buildProduct(t.services, t.account.id, { features: [] });
    const list = (headers: Record<string, string>) =>
      send(t!.baseUrl, 'GET', '/api/v1/products/?page_size=1', { headers: { Authorization: `Api-Key ${t!.credentials.managementApiKey}`, ...headers } });
    const forwarded = await list({ 'X-Forwarded-Host': 'licensing.example.com', 'X-Forwarded-Proto': 'https' });
    expect(forwarded.status).toBe(200);
    expect(forwarded.body.next).toBe('https://licensing.example.com/api/v1/products/?page_size=1&page=2');
    // A scheme other than http or https is not written into a link.
    expect((await list({ 'X-Forwarded-Host': 'licensing.example.com', 'X-Forwarded-Proto': 'javascript' })).body.next).toBe('http://licensing.example.com/api/v1/products/?page_size=1&page=2');
    expect(await list({ 'X-Forwarded-Host': 'a b' })).toMatchObject({
      status: 400,
      body: { status: 400, code: 'invalid_host', message: 'The X-Forwarded-Host header must be a valid host name or address, with an optional port' },
    });
  });
});
