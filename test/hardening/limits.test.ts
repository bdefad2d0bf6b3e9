/**
 * Limits a client cannot talk its way past: body size (413), JSON nesting depth (400), per-IP and
 * per-credential rate limits (429 with Retry-After and X-Rate-Limit-* headers), security headers.
 * Every rejection in the dialect's own error body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import spec from '../../generated/openapi.json' with { type: 'json' };
import { startTestServer, type TestServer } from '../support/server.js';
import { HTTP_TIMEOUTS } from '../../server/server.js';
import { credentialHeaders, isDialectError, rawExchange, send, type Dialect } from './support/wire.js';

const bigString = 'x'.repeat(110 * 1024);
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { a: value };
  return value;
};

/** A POST of each dialect that takes a JSON body. */
const posts: Array<{ dialect: Dialect; path: string }> = [
  { dialect: 'v1', path: '/api/v1/products/' },
  { dialect: 'v4', path: '/api/v4/add_consumption' },
  { dialect: 'v3', path: '/v3/activations' },
];

describe('limits: body size, JSON depth, security headers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(posts)('$dialect: a body over 100 kB answers 413 payload_too_large in the dialect body', async ({ dialect, path }) => {
    const res = await send(t.baseUrl, 'POST', path, { body: { product_name: bigString }, headers: credentialHeaders(dialect, t.credentials) });
    expect(res.status).toBe(413);
    expect(isDialectError(dialect, 413, res.body, 'payload_too_large'), res.text).toBe(true);
  });

  it.each(posts)('$dialect: a declared Content-Length over 100 kB answers 413 at once, before any body byte arrives, and closes the connection', async ({ dialect, path }) => {
    const headers = { ...credentialHeaders(dialect, t.credentials), 'Content-Type': 'application/json', 'Content-Length': '10000000000' };
    const request = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)].join('\r\n');
    const res = await rawExchange(t.baseUrl, `${request}\r\n\r\n`, 5_000);
    expect({ status: res.status, closedByServer: res.closedByServer }).toEqual({ status: 413, closedByServer: true });
    expect(isDialectError(dialect, 413, res.body, 'payload_too_large'), res.text).toBe(true);
    expect(res.ms).toBeLessThan(2_000);
  });

  it.each(posts)('$dialect: JSON nested deeper than 32 levels answers 400 json_too_deep; 32 levels reach validation', async ({ dialect, path }) => {
    const headers = credentialHeaders(dialect, t.credentials);
    const tooDeep = await send(t.baseUrl, 'POST', path, { body: { x: nested(32) }, headers });
    expect(tooDeep.status).toBe(400);
    expect(isDialectError(dialect, 400, tooDeep.body, 'json_too_deep'), tooDeep.text).toBe(true);
    const deepEnough = await send(t.baseUrl, 'POST', path, { body: { x: nested(31) }, headers });
    expect(deepEnough.status).toBe(400);
    expect(isDialectError(dialect, 400, deepEnough.body, dialect === 'v4' ? 'missing_parameters' : 'validation_failed'), deepEnough.text).toBe(true);
    // 50 000 levels in under 100 kB: still a clean 400, not a stack overflow.
    const hostile = await send(t.baseUrl, 'POST', path, { body: '['.repeat(50_000) + ']'.repeat(50_000), headers });
    expect(hostile.status).toBe(400);
    expect(isDialectError(dialect, 400, hostile.body, 'json_too_deep'), hostile.text).toBe(true);
  });

  it('sends helmet security headers and no X-Powered-By on API responses; /docs keeps its own CSP', async () => {
    for (const res of [
      await send(t.baseUrl, 'GET', '/api/v1/account/', { headers: credentialHeaders('v1', t.credentials) }),
      await send(t.baseUrl, 'GET', '/v3/accounts/me', { headers: credentialHeaders('v3', t.credentials) }),
      await send(t.baseUrl, 'GET', '/api/v4/check_license?product=x&hardware_id=y&license_key=z', { headers: credentialHeaders('v4', t.credentials) }),
      await send(t.baseUrl, 'GET', '/nope'),
    ]) {
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    }
    const docs = await send(t.baseUrl, 'GET', '/docs');
    if (docs.status === 200) {
      expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self' 'unsafe-inline'/);
      expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});

describe('limits: rate limiting', () => {
  it('per client IP: the limit+1st request answers 429 in the dialect of its path, with Retry-After and X-Rate-Limit-* headers; probes are exempt', async () => {
    const t = await startTestServer({ env: { RATE_LIMIT_PER_IP: '4', RATE_LIMIT_PER_KEY: '0', RATE_LIMIT_WINDOW_MS: '60000' } });
    try {
      const v1 = credentialHeaders('v1', t.credentials);
      for (let i = 0; i < 4; i += 1) expect((await send(t.baseUrl, 'GET', '/api/v1/account/', { headers: v1 })).status).toBe(200);
      const before = Math.floor(Date.now() / 1000);
      const checks: Array<[Dialect, string, string]> = [
        ['v1', 'GET', '/api/v1/account/'],
        ['v3', 'GET', '/v3/accounts/me'],
        ['v4', 'POST', '/api/v4/add_consumption'],
        ['service', 'GET', '/openapi.json'],
      ];
      for (const [dialect, method, path] of checks) {
        const res = await send(t.baseUrl, method, path, { headers: credentialHeaders(dialect, t.credentials), ...(method === 'POST' ? { body: {} } : {}) });
        expect(res.status, path).toBe(429);
        expect(isDialectError(dialect, 429, res.body, 'rate_limited'), res.text).toBe(true);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
        expect(res.headers.get('x-rate-limit-limit')).toBe('4');
        expect(res.headers.get('x-rate-limit-remaining')).toBe('0');
        const reset = Number(res.headers.get('x-rate-limit-reset'));
        expect(reset).toBeGreaterThan(before);
        expect(reset).toBeLessThanOrEqual(before + 61);
      }
      expect((await send(t.baseUrl, 'GET', '/healthz')).status).toBe(200);
      expect((await send(t.baseUrl, 'GET', '/readyz')).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it('per credential: one key over its limit is throttled while another key is not; a new window lets it in again', async () => {
    const t = await startTestServer({ env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '3', RATE_LIMIT_WINDOW_MS: '1500' } });
    try {
      const other = await t.createAccount();
      for (const dialect of ['v1', 'v3'] as const) {
        const path = dialect === 'v1' ? '/api/v1/account/' : '/v3/accounts/me';
        const mine = credentialHeaders(dialect, t.credentials);
        for (let i = 0; i < 3; i += 1) expect((await send(t.baseUrl, 'GET', path, { headers: mine })).status).toBe(200);
        const limited = await send(t.baseUrl, 'GET', path, { headers: mine });
        expect(limited.status).toBe(429);
        expect(isDialectError(dialect, 429, limited.body, 'rate_limited'), limited.text).toBe(true);
        expect(limited.headers.get('x-rate-limit-limit')).toBe('3');
        expect((await send(t.baseUrl, 'GET', path, { headers: credentialHeaders(dialect, other.credentials) })).status).toBe(200);
      }
      // License API: the key is the apikey of the signed header, whatever the Date and signature.
      const v4 = () => send(t.baseUrl, 'GET', '/api/v4/check_license?product=x&hardware_id=y&license_key=z', { headers: credentialHeaders('v4', t.credentials) });
      for (let i = 0; i < 3; i += 1) expect((await v4()).status).toBe(400);
      const limited = await v4();
      expect(limited.status).toBe(429);
      expect(isDialectError('v4', 429, limited.body, 'rate_limited'), limited.text).toBe(true);

      await new Promise((r) => setTimeout(r, Number(limited.headers.get('retry-after')) * 1000 + 100));
      expect((await v4()).status).toBe(400);
    } finally {
      await t.stop();
    }
  });
});

describe('limits: the spec documents them', () => {
  type Operation = { operationId: string; responses: Record<string, { $ref?: string; headers?: Record<string, unknown> }> };
  const operations = Object.entries(spec.paths as unknown as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, op]) => typeof op === 'object' && op !== null && 'operationId' in op)
      .map(([method, op]) => ({ path, method, op })),
  );
  const responses = spec.components.responses as unknown as Record<string, { headers?: Record<string, unknown> }>;
  const resolve = (r: { $ref?: string; headers?: Record<string, unknown> }) => (r.$ref ? responses[r.$ref.split('/').pop()!]! : r);

  it('every operation but the probes documents 429 with Retry-After and the X-Rate-Limit-* headers', () => {
    const limited = operations.filter(({ path }) => path !== '/healthz' && path !== '/readyz');
    expect(limited.length).toBeGreaterThan(30);
    for (const { op } of limited) {
      const response = op.responses['429'];
      expect(response, op.operationId).toBeDefined();
      expect(Object.keys(resolve(response!).headers ?? {}).sort(), op.operationId).toEqual(['Retry-After', 'X-Rate-Limit-Limit', 'X-Rate-Limit-Remaining', 'X-Rate-Limit-Reset']);
    }
  });

  it('every operation that reads or writes the database documents 503', () => {
    const static_ = new Set(['/', '/favicon.ico', '/healthz', '/openapi.json', '/openapi.yaml', '/openapi-3.0.json', '/openapi-3.0.yaml', '/docs']);
    for (const { op } of operations.filter(({ path }) => !static_.has(path))) expect(op.responses['503'], op.operationId).toBeDefined();
  });
});

describe('limits: slow requests', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ httpTimeouts: { headersTimeoutMs: 500, requestTimeoutMs: 1_000, checkIntervalMs: 100 } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('the documented socket timeouts: headers within 20 s, the whole request within 30 s, checked every second', () => {
    expect(HTTP_TIMEOUTS).toEqual({ headersTimeoutMs: 20_000, requestTimeoutMs: 30_000, checkIntervalMs: 1_000 });
  });

  it('a body that stops arriving is answered 408 and its socket closed once the request timeout passes', async () => {
    const head = ['POST /api/v1/products/ HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', 'Content-Length: 40', `Authorization: Api-Key ${t.credentials.managementApiKey}`].join('\r\n');
    const res = await rawExchange(t.baseUrl, `${head}\r\n\r\n{"product_`, 5_000);
    expect({ status: res.status, closedByServer: res.closedByServer }).toEqual({ status: 408, closedByServer: true });
    expect(res.ms).toBeGreaterThanOrEqual(900);
    expect(res.ms).toBeLessThan(2_500);
  });

  it('headers that stop arriving are answered 408 and the socket closed once the headers timeout passes', async () => {
    const res = await rawExchange(t.baseUrl, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 5_000);
    expect({ status: res.status, closedByServer: res.closedByServer }).toEqual({ status: 408, closedByServer: true });
    expect(res.ms).toBeGreaterThanOrEqual(400);
    expect(res.ms).toBeLessThan(2_000);
  });
});
