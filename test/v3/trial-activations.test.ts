import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { call, claimsOf, fingerprint, type Client } from './support.js';

const DAY_MS = 86_400_000;

describe('Web API v3: trial activations', () => {
  const clock = new ManualClock(new Date('2026-03-10T10:00:00.000Z'));
  let t: TestServer;
  let client: Client;
  let bearer: Client;

  beforeAll(async () => {
    t = await startTestServer({ clock });
    client = { baseUrl: t.baseUrl };
    bearer = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
  });
  afterAll(async () => t?.stop());

  let seq = 0;
  /** A product of the test account with these trial settings (as the Management API sets them). */
  async function product(trial: { allowTrial: boolean; trialDays: number } = { allowTrial: true, trialDays: 14 }) {
    seq += 1;
    return t.services.products.createProduct(t.account.id, { name: `Trial app ${seq}`, shortCode: `v3trial${seq}`, ...trial });
  }

  const trialBody = (productId: number, fp: string, extra: Record<string, unknown> = {}) => ({
    os: 'linux',
    osVersion: '6.1',
    fingerprint: fp,
    hostname: 'host-1',
    userHash: 'user-hash',
    productId: String(productId),
    accountId: '',
    releaseVersion: '1.2.3',
    ...extra,
  });

  /** The trial licenses stored for a machine of a product. */
  const storedTrials = (productId: number, fp: string) => t.server.db.models.License.countDocuments({ accountId: t.account.id, productId, trialHardwareId: fp });

  async function start(productId: number, fp: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await call(client, 'POST', '/v3/trial-activations', trialBody(productId, fp, extra));
    expect(res.status).toBe(201);
    return claimsOf(res.body.activationToken).aid as string;
  }

  it('starts a trial client-side: 201 with an activation token verified by the account\'s keys, ending after the product\'s trial days', async () => {
    const p = await product();
    const fp = fingerprint('trial-token');
    const res = await call(client, 'POST', '/v3/trial-activations', trialBody(p.id, fp, { accountId: String(t.account.id), metadata: [{ key: 'campaign', value: 'spring' }] }));
    expect(res.status).toBe(201);
    expect(Object.keys(res.body)).toEqual(['activationToken']);
    const issuer = `http://localhost:${new URL(t.baseUrl).port}/v3/accounts/${t.account.id}`;
    const jwks = createRemoteJWKSet(new URL(`${t.baseUrl}/v3/accounts/${t.account.id}/jwks`));
    const { payload } = await jwtVerify(res.body.activationToken as string, jwks, { algorithms: ['RS256'], issuer, audience: String(p.id), currentDate: clock.now() });
    const ends = Math.floor((clock.now().getTime() + 14 * DAY_MS) / 1000);
    expect(payload).toEqual({
      iss: issuer,
      aud: String(p.id),
      sub: payload.aid,
      aid: expect.stringMatching(/^[0-9]{1,16}$/),
      pid: String(p.id),
      fp,
      iat: Math.floor(clock.now().getTime() / 1000),
      eat: ends,
      exp: ends,
      aco: 0,
      amd: [{ key: 'campaign', value: 'spring' }],
    });
    expect(await storedTrials(p.id, fp)).toBe(1);
  });

  it('answers the trial activation by id to a token of its account, with the machine the first request reported', async () => {
    const p = await product();
    const fp = fingerprint('trial-get');
    const id = await start(p.id, fp, { metadata: [{ key: 'campaign', value: 'spring' }] });
    const res = await call(bearer, 'GET', `/v3/trial-activations/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id,
      createdAt: clock.now().toISOString(),
      updatedAt: clock.now().toISOString(),
      os: 'linux',
      osVersion: '6.1',
      hostname: 'host-1',
      location: expect.objectContaining({ ipAddress: expect.any(String), countryCode: null }),
      vmName: null,
      container: null,
      appVersion: null,
      releaseVersion: '1.2.3',
      releaseChannel: null,
      releasePlatform: null,
      offline: false,
      productId: String(p.id),
      expiresAt: new Date(clock.now().getTime() + 14 * DAY_MS).toISOString(),
      metadata: [{ id: expect.stringMatching(/^[0-9a-f]{32}$/), createdAt: clock.now().toISOString(), updatedAt: clock.now().toISOString(), key: 'campaign', value: 'spring' }],
    });
  });

  it('answers the same trial to the same machine again (no second trial, first report kept)', async () => {
    const p = await product();
    const fp = fingerprint('trial-again');
    const first = await start(p.id, fp);
    const again = await start(p.id, fp, { hostname: 'renamed-host' });
    expect(again).toBe(first);
    expect(await storedTrials(p.id, fp)).toBe(1);
    expect((await call(bearer, 'GET', `/v3/trial-activations/${first}`)).body.hostname).toBe('host-1');
    // Another machine gets a trial of its own.
    expect(await start(p.id, fingerprint('trial-other'))).not.toBe(first);
  });

  it('stores exactly one trial for 20 concurrent starts of one machine, and answers it to all of them', async () => {
    const p = await product();
    const fp = fingerprint('trial-race');
    const results = await Promise.all(Array.from({ length: 20 }, () => call(client, 'POST', '/v3/trial-activations', trialBody(p.id, fp))));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    const ids = new Set(results.map((r) => claimsOf(r.body.activationToken).aid as string));
    expect(ids.size).toBe(1);
    expect(await storedTrials(p.id, fp)).toBe(1);
  });

  it('is the trial License API v4 trial_key answers for the same device (one domain rule)', async () => {
    const p = await product();
    const fp = fingerprint('trial-shared');
    const id = await start(p.id, fp);
    const { license, created } = await t.services.trials.trialLicense(t.account.id, p.shortCode, fp);
    expect(created).toBe(false);
    expect(String(license.id)).toBe(id);
    expect(await storedTrials(p.id, fp)).toBe(1);
  });

  it('answers 404 NOT_FOUND for another account\'s trial activation (get and delete) and leaves it in place; 401 without a token', async () => {
    const p = await product();
    const fp = fingerprint('trial-other-account');
    const id = await start(p.id, fp);
    const other = await t.createAccount();
    const stranger = { baseUrl: t.baseUrl, token: other.credentials.v3AccessToken };
    expect(await call(stranger, 'GET', `/v3/trial-activations/${id}`)).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Trial activation not found' } });
    expect(await call(stranger, 'DELETE', `/v3/trial-activations/${id}`)).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Trial activation not found' } });
    expect(await call(bearer, 'GET', '/v3/trial-activations/not-an-id')).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Trial activation not found' } });
    expect((await call(client, 'GET', `/v3/trial-activations/${id}`)).status).toBe(401);
    expect((await call(client, 'DELETE', `/v3/trial-activations/${id}`)).status).toBe(401);
    expect(await storedTrials(p.id, fp)).toBe(1);
    expect((await call(bearer, 'GET', `/v3/trial-activations/${id}`)).status).toBe(200);
    // A product of another account is not found for a token of this one.
    const res = await call(stranger, 'POST', '/v3/trial-activations', trialBody(p.id, fingerprint('trial-stranger')));
    expect(res).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Product not found' } });
    expect(await storedTrials(p.id, fingerprint('trial-stranger'))).toBe(0);
  });

  it('deletes a trial activation (204): it is gone, and the machine may start a new trial', async () => {
    const p = await product();
    const fp = fingerprint('trial-delete');
    const id = await start(p.id, fp);
    const res = await call(bearer, 'DELETE', `/v3/trial-activations/${id}`);
    expect(res).toEqual({ status: 204, body: null });
    expect(await storedTrials(p.id, fp)).toBe(0);
    expect((await call(bearer, 'GET', `/v3/trial-activations/${id}`)).status).toBe(404);
    expect((await call(bearer, 'DELETE', `/v3/trial-activations/${id}`)).status).toBe(404);
    const fresh = await start(p.id, fp);
    expect(fresh).not.toBe(id);
    expect(await storedTrials(p.id, fp)).toBe(1);
  });

  it('answers 400 TRIAL_EXPIRED once the machine\'s trial has ended, keeps the one trial, and still shows it by id', async () => {
    const p = await product({ allowTrial: true, trialDays: 2 });
    const fp = fingerprint('trial-expired');
    const id = await start(p.id, fp);
    const started = clock.now();
    clock.advance(2 * DAY_MS + 1000);
    try {
      const res = await call(client, 'POST', '/v3/trial-activations', trialBody(p.id, fp));
      expect(res).toEqual({ status: 400, body: { code: 'TRIAL_EXPIRED', message: 'Trial period for device has expired' } });
      expect(await storedTrials(p.id, fp)).toBe(1);
      const shown = await call(bearer, 'GET', `/v3/trial-activations/${id}`);
      expect(shown.status).toBe(200);
      expect(shown.body.expiresAt).toBe(new Date(started.getTime() + 2 * DAY_MS).toISOString());
    } finally {
      clock.set(started);
    }
  });

  it('answers 400 TRIAL_NOT_ALLOWED for a product that does not allow trials, and stores nothing', async () => {
    const p = await product({ allowTrial: false, trialDays: 0 });
    const fp = fingerprint('trial-not-allowed');
    const res = await call(client, 'POST', '/v3/trial-activations', trialBody(p.id, fp));
    expect(res).toEqual({ status: 400, body: { code: 'TRIAL_NOT_ALLOWED', message: 'Product does not allow trial' } });
    expect(await storedTrials(p.id, fp)).toBe(0);
  });

  it('answers 404 NOT_FOUND for an unknown product or an accountId that is not the product\'s, and stores nothing', async () => {
    const p = await product();
    const fp = fingerprint('trial-unknown');
    expect(await call(client, 'POST', '/v3/trial-activations', trialBody(123, fp))).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Product not found' } });
    expect(await call(client, 'POST', '/v3/trial-activations', trialBody(p.id, fp, { accountId: '42' }))).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Account not found' } });
    expect(await storedTrials(p.id, fp)).toBe(0);
  });

  it('refuses bad input with 400 VALIDATION_FAILED naming the field, and stores nothing', async () => {
    const p = await product();
    const fp = fingerprint('trial-invalid');
    const short = await call(client, 'POST', '/v3/trial-activations', trialBody(p.id, 'too-short'));
    expect(short).toEqual({ status: 400, body: { code: 'VALIDATION_FAILED', message: expect.stringContaining('fingerprint') } });
    const badOs = await call(client, 'POST', '/v3/trial-activations', trialBody(p.id, fp, { os: 'beos' }));
    expect(badOs.status).toBe(400);
    expect(badOs.body).toEqual({ code: 'VALIDATION_FAILED', message: expect.stringContaining('os') });
    const unknownField = await call(client, 'POST', '/v3/trial-activations', trialBody(p.id, fp, { key: 'ABCD' }));
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.code).toBe('VALIDATION_FAILED');
    const twice = await call(client, 'POST', '/v3/trial-activations', trialBody(p.id, fp, { metadata: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }));
    expect(twice).toEqual({ status: 400, body: { code: 'VALIDATION_FAILED', message: 'body.metadata Metadata key "a" is listed twice' } });
    expect(await storedTrials(p.id, fp)).toBe(0);
    expect(await t.server.db.models.License.countDocuments({ accountId: t.account.id, productId: p.id })).toBe(0);
  });
});
