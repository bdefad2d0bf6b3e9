import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { activate, activationBody, call, claimsOf, fingerprint, seedV3License, seedV3Product, subscribeToAllEvents, type Client } from './support.js';

describe('Web API v3: activations, tokens and keys', () => {
  let t: TestServer;
  let client: Client;
  let bearer: Client;
  let productId: number;

  beforeAll(async () => {
    t = await startTestServer();
    client = { baseUrl: t.baseUrl };
    bearer = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
    ({ productId } = await seedV3Product(t.services, t.account.id));
  });
  afterAll(async () => t?.stop());

  const newLicense = (extra = {}) => seedV3License(t.services, t.account.id, productId, extra);
  const disable = (licenseId: number, set: Record<string, unknown>) => t.server.db.models.License.updateOne({ _id: licenseId }, { $set: set });

  it('activates with the license key and returns a token that verifies against the account\'s JWKS, issuer and audience', async () => {
    const license = await newLicense();
    const fp = fingerprint('token');
    const res = await call(client, 'POST', '/v3/activations', activationBody(license, fp, { accountId: '', metadata: [{ key: 'seat', value: '1' }] }));
    expect(res.status).toBe(201);
    const token = res.body.activationToken as string;
    const issuer = `http://localhost:${new URL(t.baseUrl).port}/v3/accounts/${t.account.id}`;
    const jwks = createRemoteJWKSet(new URL(`${t.baseUrl}/v3/accounts/${t.account.id}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { algorithms: ['RS256'], issuer, audience: String(productId) });
    const signingKey = await t.services.accounts.signingKey(t.account.id);
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: signingKey.kid });
    expect(payload).toEqual({
      iss: issuer,
      aud: String(productId),
      sub: payload.aid,
      aid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      lid: String(license.id),
      pid: String(productId),
      key: license.key,
      fp,
      iat: expect.any(Number),
      aco: 0,
      lma: [
        { name: 'api-calls', allowedUses: 150, totalUses: 0, grossUses: 0 },
        { name: 'unlimited-calls', allowedUses: -1, totalUses: 0, grossUses: 0 },
        { name: 'floating-calls', allowedUses: 100, totalUses: 0, grossUses: 0 },
      ],
      ama: [
        { name: 'api-calls', uses: 0 },
        { name: 'unlimited-calls', uses: 0 },
        { name: 'floating-calls', uses: 0 },
      ],
      amd: [{ key: 'seat', value: '1' }],
      lmd: [{ key: 'tier', value: 'pro' }],
    });
    expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(60);
    expect(payload.eat).toBeUndefined();

    // The account's own key set verifies it too; another account's does not.
    const own = await call(client, 'GET', `/v3/accounts/${t.account.id}/jwks`);
    expect(own.status).toBe(200);
    await expect(jwtVerify(token, createLocalJWKSet(own.body))).resolves.toBeTruthy();
    const other = await t.createAccount();
    const otherKeys = await call(client, 'GET', `/v3/accounts/${other.account.id}/jwks`);
    expect(otherKeys.body.keys.map((k: { kid: string }) => k.kid)).not.toContain(decodeProtectedHeader(token).kid);
    await expect(jwtVerify(token, createLocalJWKSet(otherKeys.body))).rejects.toThrow();
    expect(await call(client, 'GET', '/v3/accounts/999/jwks')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('refuses a metadata key listed twice with 400 VALIDATION_FAILED, taking no seat and creating no device', async () => {
    const license = await newLicense();
    const fp = fingerprint('dup-metadata');
    const res = await call(client, 'POST', '/v3/activations', activationBody(license, fp, { accountId: '', metadata: [{ key: 'seat', value: '1' }, { key: 'seat', value: '2' }] }));
    expect(res).toEqual({ status: 400, body: { code: 'VALIDATION_FAILED', message: 'body.metadata Metadata key "seat" is listed twice' } });
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).timesActivated).toBe(0);
    expect(await t.server.db.models.Device.countDocuments({ licenseId: license.id })).toBe(0);
  });

  it('puts the license expiry in eat and exp', async () => {
    const validUntil = new Date(Date.now() + 86_400_000);
    const license = await newLicense({ type: 'time-limited', validUntil });
    const res = await call(client, 'POST', '/v3/activations', activationBody(license, fingerprint()));
    expect(claimsOf(res.body.activationToken).eat).toBe(Math.floor(validUntil.getTime() / 1000));
    expect(claimsOf(res.body.activationToken).exp).toBe(Math.floor(validUntil.getTime() / 1000));
  });

  it('holds the activation limit; the same fingerprint reuses its activation', async () => {
    const license = await newLicense({ maxActivations: 2 });
    const fp = fingerprint('again');
    const first = await activate(t, license, fp);
    expect(await activate(t, license, fp)).toBe(first);
    await activate(t, license);
    const third = await call(client, 'POST', '/v3/activations', activationBody(license, fingerprint()));
    expect(third).toMatchObject({ status: 400, body: { code: 'ACTIVATION_LIMIT_REACHED' } });
    expect((await t.services.devices.listActivations(t.account.id, { licenseId: license.id }, 0, 10)).length).toBe(2);
    expect((await call(client, 'DELETE', `/v3/activations/${first}`)).status).toBe(204);
    expect((await call(client, 'POST', '/v3/activations', activationBody(license, fingerprint()))).status).toBe(201);
  });

  it('holds the activation limit under 30 parallel activations', async () => {
    const license = await newLicense({ maxActivations: 4 });
    const results = await Promise.all(Array.from({ length: 30 }, () => call(client, 'POST', '/v3/activations', activationBody(license, fingerprint()))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(4);
    expect(results.filter((r) => r.body?.code === 'ACTIVATION_LIMIT_REACHED')).toHaveLength(26);
  });

  it('refuses wrong keys, revoked and expired licenses', async () => {
    const license = await newLicense();
    expect(await call(client, 'POST', '/v3/activations', activationBody({ ...license, key: 'NOPE' }, fingerprint()))).toMatchObject({ status: 400, body: { code: 'INVALID_LICENSE_KEY' } });
    expect(await call(client, 'POST', '/v3/activations', activationBody({ ...license, productId: 12 }, fingerprint()))).toMatchObject({ status: 400, body: { code: 'INVALID_LICENSE_KEY' } });
    expect(await call(client, 'POST', '/v3/activations', activationBody(license, fingerprint(), { productId: 'not-a-number' }))).toMatchObject({ status: 400, body: { code: 'INVALID_LICENSE_KEY' } });
    expect(await call(client, 'POST', '/v3/activations', activationBody(license, fingerprint(), { accountId: '77' }))).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    const aid = await activate(t, license);
    await disable(license.id, { enabled: false });
    expect(await call(client, 'POST', '/v3/activations', activationBody(license, fingerprint()))).toMatchObject({ status: 400, body: { code: 'REVOKED_LICENSE' } });
    expect(await call(client, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 1, activationId: aid, accountId: '' })).toMatchObject({ status: 400, body: { code: 'REVOKED_LICENSE' } });
    await disable(license.id, { enabled: true, validUntil: new Date(Date.now() - 1000) });
    expect(await call(client, 'POST', '/v3/activations', activationBody(license, fingerprint()))).toMatchObject({ status: 400, body: { code: 'LICENSE_EXPIRED' } });
  });

  it('gets, lists and deletes activations with a Bearer token', async () => {
    await subscribeToAllEvents(t);
    const license = await newLicense();
    const a = await activate(t, license);
    const b = await activate(t, license);
    const got = await call(bearer, 'GET', `/v3/activations/${a}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: a, licenseId: String(license.id), productId: String(productId), os: 'linux', hostname: 'host-1', offline: false, organization: null, user: null });
    const listed = await call(bearer, 'GET', `/v3/activations?licenseId=${license.id}`);
    expect(listed.body.map((x: { id: string }) => x.id)).toEqual([a, b]);
    expect((await call(bearer, 'GET', `/v3/activations?licenseId=${license.id}&limit=1&page=2`)).body.map((x: { id: string }) => x.id)).toEqual([b]);
    expect((await call(bearer, 'DELETE', `/v3/activations/${a}`)).status).toBe(204);
    expect(await call(bearer, 'GET', `/v3/activations/${a}`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await call(bearer, 'DELETE', `/v3/activations/${a}`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await call(bearer, 'GET', `/v3/activations?licenseId=${license.id}`)).body.map((x: { id: string }) => x.id)).toEqual([b]);
    const types = (await t.services.events.list(t.account.id, { subject: a })).map((e) => e.type);
    expect(types).toEqual(['activation.created', 'activation.deleted']);
  });

  it('needs a valid Bearer token to read and isolates accounts (404, never 403)', async () => {
    const license = await newLicense();
    const a = await activate(t, license);
    expect(await call(client, 'GET', `/v3/activations/${a}`)).toMatchObject({ status: 401, body: { code: 'AUTHENTICATION_FAILED' } });
    expect(await call(client, 'GET', '/v3/activations')).toMatchObject({ status: 401, body: { code: 'AUTHENTICATION_FAILED' } });
    expect(await call({ ...client, token: 'v3at_wrong' }, 'GET', `/v3/activations/${a}`)).toMatchObject({ status: 401, body: { code: 'AUTHENTICATION_FAILED' } });
    const basic = await fetch(`${t.baseUrl}/v3/accounts/me`, { headers: { Authorization: 'Basic abc' } });
    expect(basic.status).toBe(401);

    const other = await t.createAccount();
    const intruder = { ...client, token: other.credentials.v3AccessToken };
    expect(await call(intruder, 'GET', `/v3/activations/${a}`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await call(intruder, 'DELETE', `/v3/activations/${a}`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await call(intruder, 'GET', `/v3/activations?licenseId=${license.id}`)).body).toEqual([]);
    expect((await call(intruder, 'GET', '/v3/activations')).body).toEqual([]);
    expect(await call(intruder, 'POST', '/v3/activations', activationBody(license, fingerprint()))).toMatchObject({ status: 400, body: { code: 'INVALID_LICENSE_KEY' } });
    expect((await call(bearer, 'GET', `/v3/activations/${a}`)).status).toBe(200);
  });

  it('tells a token holder its account', async () => {
    expect(await call(bearer, 'GET', '/v3/accounts/me')).toEqual({ status: 200, body: { id: String(t.account.id), name: t.account.name, scopes: expect.arrayContaining(['activation:write']) } });
    expect(await call(client, 'GET', '/v3/accounts/me')).toMatchObject({ status: 401, body: { code: 'AUTHENTICATION_FAILED' } });
  });

  it('publishes every account\'s active keys at /.well-known/jwks.json', async () => {
    const other = await t.createAccount();
    const res = await call(client, 'GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const kids = res.body.keys.map((k: { kid: string }) => k.kid);
    expect(kids).toContain((await t.services.accounts.signingKey(t.account.id)).kid);
    expect(kids).toContain((await t.services.accounts.signingKey(other.account.id)).kid);
    for (const key of res.body.keys) expect(key).not.toHaveProperty('d');
  });
});
