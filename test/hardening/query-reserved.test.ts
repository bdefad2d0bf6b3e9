import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { activate, call, seedV3License, seedV3Product } from '../v3/support.js';
import { clientFor, productFor } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';

/**
 * Query values as RFC 3986 allows them: `@`, `:`, `/` and `?` unencoded in a query are the same
 * value as their percent-encoded forms (every string query parameter is `allowReserved`). A raw `+`
 * is a space (application/x-www-form-urlencoded), so a literal plus travels as `%2B`. The requests
 * are written by hand: fetch sends a query's `@ : / ? +` as they are.
 */
describe('query values with reserved characters, unencoded', () => {
  let t: TestServer;
  let v4: V4Client;

  beforeAll(async () => {
    t = await startTestServer();
    v4 = await clientFor(t);
  });
  afterAll(async () => t?.stop());

  /** A user-based license of `email`, activated on each hardware id (through the domain). */
  async function userLicense(email: string, hardwareIds: string[]) {
    const product = await productFor(t);
    const license = await t.services.licenses.createLicense(t.account.id, { productId: product.id, type: 'perpetual', maxActivations: 5, key: null });
    await t.services.licenseUsers.assignUser(t.account.id, license.id, { email, password: 'correct horse' });
    for (const hardwareId of hardwareIds) await t.services.devices.activate(t.account.id, { license: { licenseId: license.id }, hardwareId });
    return { license, product: product.shortCode };
  }

  it('v4 check_license: a username with @ and a hardware_id with colons, sent raw, are read as sent', async () => {
    const { license, product } = await userLicense('jane@example.com', ['aa:bb:cc', 'dev/1?x']);
    const raw = await v4.request('GET', `check_license?product=${product}&username=jane@example.com&hardware_id=aa:bb:cc`);
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({ id: license.id, username: 'jane@example.com', hardware_id: 'aa:bb:cc' });
    const encoded = await v4.request('GET', `check_license?product=${product}&username=jane%40example.com&hardware_id=aa%3Abb%3Acc`);
    expect(encoded.status).toBe(200);
    expect(encoded.body).toMatchObject({ id: license.id, username: 'jane@example.com', hardware_id: 'aa:bb:cc' });
    // `/` and `?` within a value too.
    const slashed = await v4.request('GET', `check_license?product=${product}&username=jane@example.com&hardware_id=dev/1?x`);
    expect([slashed.status, slashed.body.hardware_id]).toEqual([200, 'dev/1?x']);
  });

  it('v4 check_license: %2B arrives as a plus, a raw + as a space', async () => {
    const { product } = await userLicense('jane+qa@example.com', ['aa+bb', 'aa bb']);
    const plus = await v4.request('GET', `check_license?product=${product}&username=jane%2Bqa@example.com&hardware_id=aa%2Bbb`);
    expect(plus.status).toBe(200);
    expect(plus.body).toMatchObject({ username: 'jane+qa@example.com', hardware_id: 'aa+bb' });
    const space = await v4.request('GET', `check_license?product=${product}&username=jane%2Bqa@example.com&hardware_id=aa+bb`);
    expect([space.status, space.body.hardware_id]).toEqual([200, 'aa bb']);
    const rawPlusUser = await v4.request('GET', `check_license?product=${product}&username=jane+qa@example.com&hardware_id=aa%2Bbb`);
    expect(rawPlusUser.body).toMatchObject({ status: 400, code: 'license_not_found' });
  });

  it('v1 license-users filter: an email with @ sent raw; %2B is a plus', async () => {
    await userLicense('v1.raw@example.com', []);
    await userLicense('v1+tag@example.com', []);
    const get = async (query: string) => {
      const res = await fetch(`${t.baseUrl}/api/v1/license-users/?${query}`, { headers: { authorization: `Api-Key ${t.credentials.managementApiKey}` } });
      return { status: res.status, body: (await res.json()) as { results?: { email: string }[] } };
    };
    const raw = await get('true_email__iexact=v1.raw@example.com');
    expect(raw.status).toBe(200);
    expect(raw.body.results!.map((u) => u.email)).toEqual(['v1.raw@example.com']);
    const plus = await get('true_email__iexact=v1%2Btag@example.com');
    expect(plus.body.results!.map((u) => u.email)).toEqual(['v1+tag@example.com']);
  });

  it('v3 activations filter: a raw licenseId with reserved characters answers as its encoded form does', async () => {
    const { productId } = await seedV3Product(t.services, t.account.id);
    const license = await seedV3License(t.services, t.account.id, productId);
    await activate(t, license);
    const bearer = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
    const listed = await call(bearer, 'GET', `/v3/activations?licenseId=${license.id}`);
    expect([listed.status, listed.body.length]).toEqual([200, 1]);
    const raw = await call(bearer, 'GET', `/v3/activations?licenseId=${license.id}:x@y/z`);
    const encoded = await call(bearer, 'GET', `/v3/activations?licenseId=${license.id}%3Ax%40y%2Fz`);
    expect(raw).toEqual(encoded);
    expect(raw.status).toBe(200);
    expect(raw.body).toEqual([]);
  });
});
