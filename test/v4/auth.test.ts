import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthorization, parseHttpDate, requestSignature } from '../../server/http/v4/auth.js';
import type { TestServer } from '../support/server.js';
import { licenseFor, startLicenseApiServer } from './fixtures.js';
import { signedAuthorization, V4Client } from './signed-fetch.js';

describe('License API v4 request signing (unit)', () => {
  it('signs "licenseSpring\\ndate: <Date>" with HMAC-SHA256 of the shared key (fixed vector)', () => {
    const date = 'Thu, 17 Nov 2022 20:51:35 GMT';
    const sharedKey = 'eYuHrlajvIVTiSFIXpxpKhw78f4Ewy-00-12345678';
    const independent = createHmac('sha256', Buffer.from(sharedKey, 'utf8')).update(Buffer.from('licenseSpring\ndate: Thu, 17 Nov 2022 20:51:35 GMT', 'utf8')).digest('base64');
    expect(requestSignature(sharedKey, date)).toBe(independent);
    expect(independent).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('parses the Authorization header in any order and rejects malformed ones', () => {
    expect(parseAuthorization('algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k-1"')).toEqual({ algorithm: 'hmac-sha256', headers: 'date', signature: 'c2ln', apikey: 'k-1' });
    expect(parseAuthorization('apikey="k", signature="c2ln", headers="date", algorithm="hmac-sha256"')?.apikey).toBe('k');
    for (const bad of [
      'Bearer abc',
      'algorithm="hmac-sha1",headers="date",signature="c2ln",apikey="k"',
      'algorithm="hmac-sha256",headers="date host",signature="c2ln",apikey="k"',
      'algorithm="hmac-sha256",headers="date",signature="c2ln"',
      'algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k",apikey="j"',
      'algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k",extra="x"',
      'algorithm="hmac-sha256",headers="date",signature="",apikey="k"',
      'algorithm="hmac-sha256" headers="date",signature="c2ln",apikey="k"',
    ]) {
      expect(parseAuthorization(bad), bad).toBeNull();
    }
  });

  it('accepts only RFC 7231 GMT dates', () => {
    expect(parseHttpDate('Thu, 17 Nov 2022 20:51:35 GMT')?.toISOString()).toBe('2022-11-17T20:51:35.000Z');
    expect(parseHttpDate('2022-11-17T20:51:35Z')).toBeNull();
    expect(parseHttpDate('Thu, 17 Nov 2022 20:51:35 +0000')).toBeNull();
    expect(parseHttpDate('Fri, 17 Nov 2022 20:51:35 GMT')).toBeNull();
  });
});

describe('License API v4 authentication (HTTP)', () => {
  let t: TestServer;
  let client: V4Client;
  let query: Record<string, string>;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer());
    const { ids } = await licenseFor(t);
    query = ids;
  });
  afterAll(async () => t?.stop());

  const expectError = (res: { status: number; body: unknown }, status: number, code: string) => {
    expect(res.body).toMatchObject({ status, code });
    expect(res.status).toBe(status);
  };

  it('answers a correctly signed request', async () => {
    const res = await client.get('check_license', query);
    expect(res.status).toBe(200);
    expect(res.headers.get('licensesignature')).toBeTruthy();
  });

  it('hmac_required without Authorization', async () => {
    expectError(await client.get('check_license', query, { authorization: null }), 400, 'hmac_required');
  });

  it('authorization_invalid_headers for a malformed Authorization or Date', async () => {
    expectError(await client.get('check_license', query, { authorization: `Api-Key ${t.credentials.licenseApiKey}` }), 400, 'authorization_invalid_headers');
    const date = 'not a date';
    expectError(
      await client.get('check_license', query, { date, authorization: signedAuthorization(t.credentials.licenseApiKey, t.credentials.sharedKey, date) }),
      400,
      'authorization_invalid_headers',
    );
  });

  it('date_header_diff when Date is more than 15 minutes off (either way)', async () => {
    expectError(await client.get('check_license', query, { date: new Date(Date.now() - 16 * 60_000) }), 400, 'date_header_diff');
    expectError(await client.get('check_license', query, { date: new Date(Date.now() + 16 * 60_000) }), 400, 'date_header_diff');
    expect((await client.get('check_license', query, { date: new Date(Date.now() - 14 * 60_000) })).status).toBe(200);
  });

  it('signature_mismatch with a wrong shared key or a signature over another date', async () => {
    const date = new Date().toUTCString();
    const other = new Date(Date.now() - 1000).toUTCString();
    expectError(await client.get('check_license', query, { date, authorization: signedAuthorization(t.credentials.licenseApiKey, 'wrong-shared-key', date) }), 400, 'signature_mismatch');
    expectError(await client.get('check_license', query, { date, authorization: signedAuthorization(t.credentials.licenseApiKey, t.credentials.sharedKey, other) }), 400, 'signature_mismatch');
  });

  it('401 unknown_api_key for an api key no account has', async () => {
    const date = new Date().toUTCString();
    expectError(await client.get('check_license', query, { date, authorization: signedAuthorization('00000000-0000-4000-8000-000000000000', t.credentials.sharedKey, date) }), 401, 'unknown_api_key');
  });

  it("another account's license is not found with this account's keys", async () => {
    const other = await t.createAccount();
    const otherClient = new V4Client(t.baseUrl, other.credentials, (await t.services.accounts.signingKey(other.account.id)).publicKeyPem);
    expectError(await otherClient.get('check_license', query), 400, 'unknown_product');
  });
});
