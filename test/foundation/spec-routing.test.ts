/**
 * Paths and methods the spec does not spell out but clients use: the other trailing-slash form of
 * every path, HEAD on every GET, OPTIONS, and CORS for the client-side APIs when configured.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedAuthorization } from '../v4/signed-fetch.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over node:http, so HEAD, OPTIONS and Origin go out exactly as given. */
function raw(baseUrl: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawAnswer> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const corsHeaders = (a: RawAnswer) => Object.keys(a.headers).filter((h) => h.startsWith('access-control-'));

describe('trailing slashes, HEAD and OPTIONS', () => {
  let t: TestServer;
  let mgmt: Record<string, string>;
  beforeAll(async () => {
    t = await startTestServer();
    mgmt = { authorization: `Api-Key ${t.credentials.managementApiKey}` };
  });
  afterAll(async () => t?.stop());

  it('serves a path without its trailing slash, and with an extra one, as the spec path (POST keeps its body)', async () => {
    const slashed = await raw(t.baseUrl, 'GET', '/api/v1/account/', mgmt);
    expect(slashed.status).toBe(200);
    const bare = await raw(t.baseUrl, 'GET', '/api/v1/account', mgmt);
    expect(bare.status).toBe(200);
    expect(JSON.parse(bare.body)).toEqual(JSON.parse(slashed.body));

    const created = await raw(t.baseUrl, 'POST', '/api/v1/products', mgmt, JSON.stringify({ product_name: 'Slashless', short_code: 'slashless' }));
    expect(created.status).toBe(201);
    const product = JSON.parse(created.body) as { id: number; short_code: string };
    expect(product.short_code).toBe('slashless');
    const got = await raw(t.baseUrl, 'GET', `/api/v1/products/${product.id}?x=`, mgmt);
    expect(got.status).toBe(400); // the query is kept: an unknown parameter is still refused
    expect((await raw(t.baseUrl, 'GET', `/api/v1/products/${product.id}`, mgmt)).status).toBe(200);
    expect((await raw(t.baseUrl, 'GET', '/api/v1/products?page_size=1', mgmt)).status).toBe(200);

    const bearer = { authorization: `Bearer ${t.credentials.v3AccessToken}` };
    expect((await raw(t.baseUrl, 'GET', '/v3/activations', bearer)).status).toBe(200);
    expect((await raw(t.baseUrl, 'GET', '/v3/activations/', bearer)).status).toBe(200);
    expect((await raw(t.baseUrl, 'GET', '/healthz/')).status).toBe(200);
    // Only one slash is forgiven; other paths stay unknown.
    expect((await raw(t.baseUrl, 'GET', '/api/v1/account//', mgmt)).status).toBe(404);
    expect((await raw(t.baseUrl, 'GET', '/api/v1/accounts/', mgmt)).status).toBe(404);
  });

  it('answers HEAD on every GET path like the GET without a body, and 405 where there is no GET', async () => {
    const head = await raw(t.baseUrl, 'HEAD', '/api/v1/account/', mgmt);
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toMatch(/^application\/json/);
    const unauthenticated = await raw(t.baseUrl, 'HEAD', '/api/v1/account/');
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body).toBe('');
    expect((await raw(t.baseUrl, 'HEAD', '/healthz')).status).toBe(200);
    expect((await raw(t.baseUrl, 'HEAD', '/openapi.json')).status).toBe(200);
    const date = new Date().toUTCString();
    const signed = { date, authorization: signedAuthorization(t.credentials.licenseApiKey, t.credentials.sharedKey, date) };
    expect((await raw(t.baseUrl, 'HEAD', '/api/v4/product_details?product=nope', signed)).status).toBe(400);
    const noGet = await raw(t.baseUrl, 'HEAD', '/api/v4/activate_license', signed);
    expect(noGet.status).toBe(405);
  });

  it('answers OPTIONS on a spec path with 204 and Allow, on other paths 404; no CORS headers without CORS_ALLOWED_ORIGINS', async () => {
    const options = await raw(t.baseUrl, 'OPTIONS', '/api/v1/licenses/');
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('GET, POST, HEAD, OPTIONS');
    expect((await raw(t.baseUrl, 'OPTIONS', '/v3/activations/abc')).headers.allow).toBe('GET, DELETE, PATCH, HEAD, OPTIONS');
    expect((await raw(t.baseUrl, 'OPTIONS', '/api/v4/activate_license')).headers.allow).toBe('POST, OPTIONS');
    expect((await raw(t.baseUrl, 'OPTIONS', '/nowhere')).status).toBe(404);
    const preflight = await raw(t.baseUrl, 'OPTIONS', '/v3/activations', { origin: 'https://app.example.com', 'access-control-request-method': 'POST' });
    expect(preflight.status).toBe(204);
    expect(corsHeaders(preflight)).toEqual([]);
    const bearer = { authorization: `Bearer ${t.credentials.v3AccessToken}` };
    expect(corsHeaders(await raw(t.baseUrl, 'GET', '/v3/activations', { ...bearer, origin: 'https://app.example.com' }))).toEqual([]);
  });
});

describe('CORS_ALLOWED_ORIGINS', () => {
  let t: TestServer;
  const origin = 'https://app.example.com';
  beforeAll(async () => {
    t = await startTestServer({ env: { CORS_ALLOWED_ORIGINS: `${origin},http://localhost:5173` } });
  });
  afterAll(async () => t?.stop());

  it('answers a preflight of the client-side APIs from an allowed origin, and nothing for other origins or the Management API', async () => {
    const preflight = await raw(t.baseUrl, 'OPTIONS', '/v3/activations', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    expect(preflight.headers['access-control-allow-methods']).toBe('GET,POST,HEAD');
    expect(preflight.headers['access-control-allow-headers']).toBe('Authorization,Content-Type,Date,Idempotency-Key,X-Request-Id');
    expect(preflight.headers['access-control-max-age']).toBe('600');
    expect(preflight.headers.vary).toMatch(/Origin/);
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

    const v4 = await raw(t.baseUrl, 'OPTIONS', '/api/v4/activate_license', { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' });
    expect(v4.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(v4.headers['access-control-allow-methods']).toBe('POST,HEAD');

    const stranger = await raw(t.baseUrl, 'OPTIONS', '/v3/activations', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    expect(stranger.status).toBe(204);
    expect(corsHeaders(stranger)).toEqual([]);
    const management = await raw(t.baseUrl, 'OPTIONS', '/api/v1/licenses/', { origin, 'access-control-request-method': 'GET' });
    expect(management.status).toBe(204);
    expect(corsHeaders(management)).toEqual([]);
  });

  it('lets an allowed origin read the answers of the client-side APIs, errors included', async () => {
    const bearer = { authorization: `Bearer ${t.credentials.v3AccessToken}` };
    const listed = await raw(t.baseUrl, 'GET', '/v3/activations', { ...bearer, origin });
    expect(listed.status).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBe(origin);
    expect(listed.headers['access-control-expose-headers']).toBe('Idempotent-Replayed,LicenseSignature,Retry-After,X-Rate-Limit-Limit,X-Rate-Limit-Remaining,X-Rate-Limit-Reset,X-Request-Id');
    const refused = await raw(t.baseUrl, 'GET', '/v3/activations', { origin });
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(origin);
    const management = await raw(t.baseUrl, 'GET', '/api/v1/account/', { authorization: `Api-Key ${t.credentials.managementApiKey}`, origin });
    expect(management.status).toBe(200);
    expect(corsHeaders(management)).toEqual([]);
  });
});
