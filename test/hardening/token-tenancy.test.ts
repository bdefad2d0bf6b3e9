/**
 * Activation tokens are bound to their tenant and product: a second account that copies the first
 * account's product short code, license key and machine fingerprint gets a token that fails the
 * verification recipe the README documents for the first account (per-account JWKS, `issuer`,
 * `audience`), and also the recipe with the server-wide JWKS plus `issuer` and `audience`.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { activationBody, call, fingerprint, seedV3License } from '../v3/support.js';
import { buildProduct, consumptionFeature, uniqueSuffix } from '../support/fixtures.js';

describe('activation tokens name their tenant and product', () => {
  const PUBLIC_BASE_URL = 'https://licensing.example.com/base';
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ env: { PUBLIC_BASE_URL } });
  });
  afterAll(async () => t?.stop());

  /** Account A's documented recipe, with its JWKS fetched from this test server. */
  const verifyAsAccount = (token: string, accountId: number, productId: number, jwksPath = `/v3/accounts/${accountId}/jwks`) =>
    jwtVerify(token, createRemoteJWKSet(new URL(`${t.baseUrl}${jwksPath}`)), {
      algorithms: ['RS256'],
      issuer: `${PUBLIC_BASE_URL}/v3/accounts/${accountId}`,
      audience: String(productId),
    });

  it('a token minted by account B with A\'s short code, key and fingerprint never verifies as A\'s', async () => {
    const shortCode = `clone-${uniqueSuffix(4)}`;
    const key = `CLONE-${uniqueSuffix(4)}`.toUpperCase();
    const fp = fingerprint('clone');
    const features = [consumptionFeature('api-calls', 150, 'API calls')];
    const b = await t.createAccount('tenant-b');
    const productA = await buildProduct(t.services, t.account.id, { shortCode, features });
    const productB = await buildProduct(t.services, b.account.id, { shortCode, features });
    const licenseA = await seedV3License(t.services, t.account.id, productA.id, { key, features: [{ code: 'api-calls', max: 150 }] });
    const licenseB = await seedV3License(t.services, b.account.id, productB.id, { key, features: [{ code: 'api-calls', max: 1_000_000 }] });

    const tokenA = (await call({ baseUrl: t.baseUrl }, 'POST', '/v3/activations', activationBody(licenseA, fp, { accountId: '' }))).body.activationToken as string;
    const tokenB = (await call({ baseUrl: t.baseUrl }, 'POST', '/v3/activations', activationBody(licenseB, fp, { accountId: '' }))).body.activationToken as string;
    expect(decodeJwt(tokenB)).toMatchObject({ key, fp, iss: `${PUBLIC_BASE_URL}/v3/accounts/${b.account.id}`, aud: String(productB.id) });

    // A's own token passes A's recipe, with the per-account key set and with the server-wide one.
    const { payload } = await verifyAsAccount(tokenA, t.account.id, productA.id);
    expect(payload).toMatchObject({ iss: `${PUBLIC_BASE_URL}/v3/accounts/${t.account.id}`, aud: String(productA.id), sub: payload.aid, key, fp });
    await expect(verifyAsAccount(tokenA, t.account.id, productA.id, '/.well-known/jwks.json')).resolves.toBeTruthy();

    // B's token fails both: not A's key, and not A's issuer or product.
    await expect(verifyAsAccount(tokenB, t.account.id, productA.id)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await expect(verifyAsAccount(tokenB, t.account.id, productA.id, '/.well-known/jwks.json')).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' });
    // And it does verify as B's, so the refusal is about the tenant, not a broken token.
    await expect(verifyAsAccount(tokenB, b.account.id, productB.id)).resolves.toBeTruthy();
  });
});
