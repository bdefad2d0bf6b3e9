/**
 * Authentication attacks, per dialect: missing, malformed and wrong credentials; a replayed License
 * API request (Date 16 minutes away); a signature made with another account's shared key; one
 * tenant's credentials on another tenant's ids (404, the same answer as an id that does not exist).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { signedAuthorization } from '../v4/signed-fetch.js';
import { seedV3Activation, seedV4License } from './support/seed.js';
import { credentialHeaders, isDialectError, rawExchange, send, v4Headers, type Dialect } from './support/wire.js';

describe('authentication attacks', () => {
  let t: TestServer;
  let other: Awaited<ReturnType<TestServer['createAccount']>>;
  beforeAll(async () => {
    t = await startTestServer();
    other = await t.createAccount('other-tenant');
  });
  afterAll(async () => {
    await t?.stop();
  });

  describe('two Authorization headers', () => {
    const cases: Array<{ dialect: Dialect; path: string; code: string }> = [
      { dialect: 'v1', path: '/api/v1/account/', code: 'duplicate_authorization_header' },
      { dialect: 'v4', path: '/api/v4/check_license?product=p&hardware_id=h&license_key=k', code: 'authorization_invalid_headers' },
      { dialect: 'v3', path: '/v3/accounts/me', code: 'duplicate_authorization_header' },
      { dialect: 'service', path: '/healthz', code: 'duplicate_authorization_header' },
    ];
    it.each(cases)('$dialect: answer 400 $code in the dialect body, whichever credential comes first', async ({ dialect, path, code }) => {
      const mine = credentialHeaders(dialect === 'service' ? 'v3' : dialect, t.credentials);
      const theirs = credentialHeaders(dialect === 'service' ? 'v3' : dialect, other.credentials);
      const extra = Object.entries(mine).filter(([name]) => name.toLowerCase() !== 'authorization');
      for (const [first, second] of [
        [mine.Authorization, theirs.Authorization],
        [mine.Authorization, mine.Authorization],
      ]) {
        const request = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...extra.map(([n, v]) => `${n}: ${v}`), `Authorization: ${first}`, `authorization: ${second}`].join('\r\n');
        const res = await rawExchange(t.baseUrl, `${request}\r\n\r\n`);
        expect(res.status, res.text).toBe(400);
        expect(isDialectError(dialect, 400, res.body, code), res.text).toBe(true);
      }
      // One header passes authentication (v4 then answers unknown_product for the made-up product).
      const single = await send(t.baseUrl, 'GET', path, { headers: mine });
      expect([single.status, single.body?.code]).toEqual(dialect === 'v4' ? [400, 'unknown_product'] : [200, undefined]);
    });
  });

  describe('Management API v1', () => {
    it.each([
      ['no Authorization header', undefined, 'authentication_required'],
      ['an empty header', '', 'authentication_required'],
      ['another scheme', 'Bearer abc', 'invalid_authorization_header'],
      ['the scheme without a key', 'Api-Key', 'invalid_authorization_header'],
      ['two keys', 'Api-Key a b', 'invalid_authorization_header'],
      ['an unknown key', `Api-Key mgmt_${randomUUID()}`, 'invalid_api_key'],
      ['an oversized key', `Api-Key ${'k'.repeat(600)}`, 'invalid_authorization_header'],
    ])('%s answers 401 %s', async (_what, authorization, code) => {
      const res = await send(t.baseUrl, 'GET', '/api/v1/account/', { headers: authorization === undefined ? {} : { Authorization: authorization } });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ status: 401, code, message: expect.any(String) });
    });

    it('the License API key, shared key or access token is no management key', async () => {
      for (const key of [t.credentials.licenseApiKey, t.credentials.sharedKey, t.credentials.v3AccessToken]) {
        const res = await send(t.baseUrl, 'GET', '/api/v1/account/', { headers: { Authorization: `Api-Key ${key}` } });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('invalid_api_key');
      }
    });

    it("another tenant's license, product and device ids answer exactly like ids that do not exist", async () => {
      const theirs = await seedV4License(t.services, other.account.id, 10);
      const headers = credentialHeaders('v1', t.credentials);
      const missingId = 999_999_999_999;
      for (const [path, method] of [
        ['/api/v1/licenses/{id}/', 'GET'],
        ['/api/v1/licenses/{id}/disable/', 'POST'],
        ['/api/v1/licenses/{id}/reset_consumption/', 'POST'],
        ['/api/v1/products/{id}/', 'GET'],
      ] as const) {
        const id = path.includes('products') ? theirs.license.productId : theirs.license.id;
        const foreign = await send(t.baseUrl, method, path.replace('{id}', String(id)), { headers });
        const missing = await send(t.baseUrl, method, path.replace('{id}', String(missingId)), { headers });
        expect(foreign.status, path).toBe(404);
        expect(missing.status, path).toBe(404);
        expect(foreign.body.code).toBe(missing.body.code);
        expect(foreign.body.message.replace(String(id), 'ID')).toBe(missing.body.message.replace(String(missingId), 'ID'));
      }
      const list = await send(t.baseUrl, 'GET', `/api/v1/devices/?license=${theirs.license.id}`, { headers });
      expect(list.status).toBe(200);
      expect(list.body.results ?? list.body).toEqual([]);
      // Their license was not disabled or reset by the attempts.
      expect((await t.services.licenses.getLicense(other.account.id, theirs.license.id)).enabled).toBe(true);
    });
  });

  describe('License API v4', () => {
    const path = '/api/v4/check_license?product=p&hardware_id=hw-1&license_key=k';
    it.each([
      ['no Authorization header', () => ({ Date: new Date().toUTCString() }), 400, 'hmac_required'],
      ['a malformed Authorization header', () => ({ Date: new Date().toUTCString(), Authorization: 'Api-Key x' }), 400, 'authorization_invalid_headers'],
      ['another algorithm', () => ({ Date: new Date().toUTCString(), Authorization: 'algorithm="hmac-sha1",headers="date",signature="x",apikey="y"' }), 400, 'hmac_required'],
      ['an Authorization header without apikey', () => ({ Date: new Date().toUTCString(), Authorization: 'algorithm="hmac-sha256",headers="date",signature="c2ln"' }), 400, 'authorization_missing_params'],
      ['no Date header', () => ({ Authorization: 'algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k"' }), 400, 'missing_headers'],
      ['a Date that is not RFC 7231', () => ({ Date: new Date().toISOString(), Authorization: 'algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k"' }), 400, 'authorization_invalid_headers'],
    ])('%s answers %s %s', async (_what, headers, status, code) => {
      const res = await send(t.baseUrl, 'GET', path, { headers: headers() });
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ status, code, message: expect.any(String) });
    });

    it('an unknown License API key answers 400 invalid_api_key', async () => {
      const date = new Date().toUTCString();
      const res = await send(t.baseUrl, 'GET', path, { headers: { Date: date, Authorization: signedAuthorization(randomUUID(), t.credentials.sharedKey, date) } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ status: 400, code: 'invalid_api_key', message: expect.any(String) });
    });

    it('one Date + signature pair is honoured on every operation within the window (vendor clients send it twice in a second); the Idempotency-Key stops a replayed consumption', async () => {
      const seeded = await seedV4License(t.services, t.account.id, 100);
      const captured = v4Headers(t.credentials);
      // Captured on a check, used on consumptions: the signature covers only the Date.
      expect((await send(t.baseUrl, 'GET', `/api/v4/check_license?${new URLSearchParams({ product: seeded.body().product, hardware_id: 'hw-1', license_key: seeded.license.key! })}`, { headers: captured })).status).toBe(200);
      for (let i = 0; i < 2; i += 1) expect((await send(t.baseUrl, 'POST', '/api/v4/add_feature_consumption', { headers: captured, body: seeded.body({ consumptions: 3 }) })).status).toBe(200);
      const key = { ...captured, 'Idempotency-Key': randomUUID() };
      for (let i = 0; i < 3; i += 1) expect((await send(t.baseUrl, 'POST', '/api/v4/add_feature_consumption', { headers: key, body: seeded.body({ consumptions: 5 }) })).status).toBe(200);
      const changed = await send(t.baseUrl, 'POST', '/api/v4/add_feature_consumption', { headers: key, body: seeded.body({ consumptions: 50 }) });
      expect([changed.status, changed.body.code]).toEqual([409, 'idempotency_key_reused']);
      expect((await t.services.licenses.getLicense(t.account.id, seeded.license.id)).features.map((f) => [f.code, f.total])).toEqual([['api-calls', 3 + 3 + 5]]);
    });

    it('a request replayed with a Date 16 minutes old (or ahead) answers 400 date_header_diff, even with a valid signature', async () => {
      for (const offset of [-16 * 60_000, 16 * 60_000]) {
        const res = await send(t.baseUrl, 'GET', path, { headers: v4Headers(t.credentials, new Date(Date.now() + offset)) });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ status: 400, code: 'date_header_diff', message: expect.any(String) });
      }
      // 14 minutes is within the window: authentication passes and the request reaches the license lookup.
      const fresh = await send(t.baseUrl, 'GET', path, { headers: v4Headers(t.credentials, new Date(Date.now() - 14 * 60_000)) });
      expect(fresh.body.code).toBe('unknown_product');
    });

    it("a signature made with another account's shared key answers 400 signature_mismatch", async () => {
      const date = new Date().toUTCString();
      for (const sharedKey of [other.credentials.sharedKey, t.credentials.licenseApiKey, '']) {
        const res = await send(t.baseUrl, 'GET', path, { headers: { Date: date, Authorization: signedAuthorization(t.credentials.licenseApiKey, sharedKey, date) } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ status: 400, code: 'signature_mismatch', message: expect.any(String) });
      }
      // A signature over another Date than the one sent does not match either (a minute earlier: never the same second).
      const res = await send(t.baseUrl, 'GET', path, {
        headers: { Date: date, Authorization: signedAuthorization(t.credentials.licenseApiKey, t.credentials.sharedKey, new Date(Date.parse(date) - 60_000).toUTCString()) },
      });
      expect(res.body.code).toBe('signature_mismatch');
    });

    it("another tenant's license answers like one that does not exist, and is not consumed", async () => {
      const theirs = await seedV4License(t.services, other.account.id, 10);
      const body = theirs.body();
      const foreign = await send(t.baseUrl, 'POST', '/api/v4/add_feature_consumption', { body, headers: v4Headers(t.credentials) });
      const missing = await send(t.baseUrl, 'POST', '/api/v4/add_feature_consumption', { body: { ...body, product: 'no-such-product' }, headers: v4Headers(t.credentials) });
      expect(foreign.status).toBe(400);
      expect(foreign.body).toEqual(missing.body);
      expect((await t.services.licenses.getLicense(other.account.id, theirs.license.id)).features[0]!.total).toBe(0);
    });
  });

  describe('Web API v3', () => {
    it.each([
      ['an unknown token', `Bearer v3at_${randomUUID()}`],
      ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
      ['a bare token', 'abc'],
      ['an empty bearer', 'Bearer '],
      ['the management key as a token', () => `Bearer ${t.credentials.managementApiKey}`],
    ])('%s answers 401 AUTHENTICATION_FAILED', async (_what, authorization) => {
      const value = typeof authorization === 'function' ? authorization() : authorization;
      const res = await send(t.baseUrl, 'GET', '/v3/accounts/me', { headers: { Authorization: value } });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 'AUTHENTICATION_FAILED', message: expect.any(String) });
    });

    it('no token on a token-only endpoint answers 401', async () => {
      const res = await send(t.baseUrl, 'GET', '/v3/activations');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 'AUTHENTICATION_FAILED', message: expect.any(String) });
    });

    it("an access token on another tenant's activation answers exactly like an unknown id, and changes nothing", async () => {
      const theirs = await seedV3Activation(t.services, other.account.id);
      const headers = credentialHeaders('v3', t.credentials);
      const unknown = randomUUID();
      const pairs = [
        ['GET', `/v3/activations/${theirs.activationId}`, `/v3/activations/${unknown}`, undefined],
        ['DELETE', `/v3/activations/${theirs.activationId}`, `/v3/activations/${unknown}`, undefined],
      ] as const;
      for (const [method, foreignPath, missingPath, body] of pairs) {
        const foreign = await send(t.baseUrl, method, foreignPath, { headers, ...(body ? { body } : {}) });
        const missing = await send(t.baseUrl, method, missingPath, { headers, ...(body ? { body } : {}) });
        expect(foreign.status, `${method} ${foreignPath}: ${foreign.text}`).toBe(404);
        expect(missing.status).toBe(404);
        expect(foreign.body.code).toBe(missing.body.code);
        expect(foreign.body.message.replace(theirs.activationId, 'ID')).toBe(missing.body.message.replace(unknown, 'ID'));
      }
      const inc = await send(t.baseUrl, 'POST', '/v3/activations/meter-attributes/api-calls', { headers, body: { increment: 1, activationId: theirs.activationId, accountId: '' } });
      expect(inc.status).toBe(404);
      const license = await t.services.licenses.getLicense(other.account.id, theirs.license.id);
      expect(license.timesActivated).toBe(1);
      expect(await t.services.devices.listActivations(other.account.id, { licenseId: license.id }, 0, 10)).toHaveLength(1);
      expect(license.features[0]!.total).toBe(0);
    });
  });
});
