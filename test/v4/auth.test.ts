import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError } from '../../server/http/error-handler.js';
import { parseHttpDate } from '../../server/http/http-date.js';
import { parseAuthorization, requestSignature } from '../../server/http/v4/auth.js';
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

  it('parses the Authorization header in any order and names what is wrong with a bad one', () => {
    expect(parseAuthorization('algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k-1"')).toEqual({ algorithm: 'hmac-sha256', headers: 'date', signature: 'c2ln', apikey: 'k-1' });
    expect(parseAuthorization('apikey="k", signature="c2ln", headers="date", algorithm="hmac-sha256"')).toMatchObject({ apikey: 'k' });
    for (const malformed of [
      'Bearer abc',
      'algorithm="hmac-sha256",headers="date host",signature="c2ln",apikey="k"',
      'algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k",apikey="j"',
      'algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k",extra="x"',
      'algorithm="hmac-sha256" headers="date",signature="c2ln",apikey="k"',
    ]) {
      expect(parseAuthorization(malformed), malformed).toMatchObject({ code: 'authorization_invalid_headers' });
    }
    expect(parseAuthorization('algorithm="hmac-sha256",headers="date",signature="c2ln"')).toEqual({ code: 'authorization_missing_params', message: 'The Authorization header lacks apikey' });
    expect(parseAuthorization('algorithm="hmac-sha256",headers="date",signature="",apikey="k"')).toEqual({ code: 'authorization_missing_params', message: 'The Authorization header lacks signature' });
    expect(parseAuthorization('apikey="k"')).toEqual({ code: 'authorization_missing_params', message: 'The Authorization header lacks algorithm, headers, signature' });
    expect(parseAuthorization('algorithm="hmac-sha1",headers="date",signature="c2ln",apikey="k"')).toMatchObject({ code: 'hmac_required' });
  });

  it('reads every HTTP date form a recipient must accept, and the Java and Python variants', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    const read = (value: string) => parseHttpDate(value, now)?.toISOString() ?? null;
    // IMF-fixdate, obsolete RFC 850 (two-digit year: not more than 50 years ahead), asctime.
    expect(read('Thu, 17 Nov 2022 20:51:35 GMT')).toBe('2022-11-17T20:51:35.000Z');
    expect(read('Thursday, 17-Nov-22 20:51:35 GMT')).toBe('2022-11-17T20:51:35.000Z');
    expect(read('Sunday, 06-Nov-94 08:49:37 GMT')).toBe('1994-11-06T08:49:37.000Z');
    expect(read('Sun Nov  6 08:49:37 1994')).toBe('1994-11-06T08:49:37.000Z');
    expect(read('Thu Nov 17 20:51:35 2022')).toBe('2022-11-17T20:51:35.000Z');
    // Java's RFC_1123_DATE_TIME (one-digit day) and Python's formatdate() (numeric zones).
    expect(read('Tue, 1 Dec 2026 09:58:01 GMT')).toBe('2026-12-01T09:58:01.000Z');
    expect(read('Tue, 01 Dec 2026 09:58:01 -0000')).toBe('2026-12-01T09:58:01.000Z');
    expect(read('Tue, 01 Dec 2026 09:58:01 +0000')).toBe('2026-12-01T09:58:01.000Z');
    expect(read('Tue, 01 Dec 2026 10:58:01 +0100')).toBe('2026-12-01T09:58:01.000Z');
    expect(read('Mon, 30 Nov 2026 23:58:01 -1000')).toBe('2026-12-01T09:58:01.000Z');
    expect(read('Tue, 01 Dec 2026 09:58:01 UTC')).toBe('2026-12-01T09:58:01.000Z');
    // Not dates: ISO 8601, a wrong weekday, a day that does not exist, out-of-range fields, stray spaces, other zones.
    for (const bad of [
      '2022-11-17T20:51:35Z',
      'Fri, 17 Nov 2022 20:51:35 GMT',
      'Thu, 31 Feb 2022 20:51:35 GMT',
      'Thu, 17 Nov 2022 24:00:00 GMT',
      'Thu, 17 Nov 2022 20:61:35 GMT',
      'Thu, 17 Nov 2022 20:51:35 +2500',
      'Thu, 17 Nov 2022 20:51:35 PST',
      'Thu,  17 Nov 2022 20:51:35 GMT',
      ' Thu, 17 Nov 2022 20:51:35 GMT',
      'Thu, 017 Nov 2022 20:51:35 GMT',
      'thu, 17 nov 2022 20:51:35 gmt',
      'Thursday, 17-Nov-2022 20:51:35 GMT',
      'Thu Nov 17 20:51:35 2022 GMT',
      '',
    ]) {
      expect(read(bad), bad).toBeNull();
    }
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

  it('hmac_required without Authorization, checked before the request is validated', async () => {
    expectError(await client.get('check_license', query, { authorization: null }), 400, 'hmac_required');
    // Nothing valid besides: no query at all, an empty body, no Date.
    expectError(await client.get('check_license', {}, { authorization: null }), 400, 'hmac_required');
    expectError(await client.post('activate_license', {}, { authorization: null, date: null }), 400, 'hmac_required');
  });

  it('authorization_missing_params for an Authorization header that lacks a parameter, naming it', async () => {
    const res = await client.get('check_license', query, { authorization: 'algorithm="hmac-sha256",headers="date",signature="c2ln"' });
    expect(res.body).toEqual({ status: 400, code: 'authorization_missing_params', message: 'The Authorization header lacks apikey' });
    expect(res.status).toBe(400);
  });

  it('hmac_required for another algorithm than hmac-sha256', async () => {
    expectError(await client.get('check_license', query, { authorization: `algorithm="hmac-sha1",headers="date",signature="c2ln",apikey="${t.credentials.licenseApiKey}"` }), 400, 'hmac_required');
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

  it('accepts the Date forms of Java, Python and RFC 850 / asctime clients, signed over the raw value', async () => {
    const now = new Date();
    const pad = (n: number) => String(n).padStart(2, '0');
    const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    const longDays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const time = `${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())}`;
    const [d, m, y] = [now.getUTCDate(), months[now.getUTCMonth()]!, now.getUTCFullYear()];
    const forms = [
      `${days[now.getUTCDay()]}, ${d} ${m} ${y} ${time} GMT`, // Java RFC_1123_DATE_TIME
      `${days[now.getUTCDay()]}, ${pad(d)} ${m} ${y} ${time} -0000`, // Python formatdate()
      `${longDays[now.getUTCDay()]}, ${pad(d)}-${m}-${String(y).slice(2)} ${time} GMT`, // RFC 850
      `${days[now.getUTCDay()]} ${m} ${String(d).padStart(2, ' ')} ${time} ${y}`, // asctime
    ];
    for (const date of forms) {
      const res = await client.get('check_license', query, { date, authorization: signedAuthorization(t.credentials.licenseApiKey, t.credentials.sharedKey, date) });
      expect(res.body?.code, date).not.toBe('authorization_invalid_headers');
      expect(res.status, date).toBe(200);
    }
    // The signature is over the raw header: a signature made over the IMF-fixdate form does not verify another form.
    const fixdate = now.toUTCString();
    const other = forms[1]!;
    const res = await client.get('check_license', query, { date: other, authorization: signedAuthorization(t.credentials.licenseApiKey, t.credentials.sharedKey, fixdate) });
    expectError(res, 400, 'signature_mismatch');
  });

  it('missing_headers without a Date header, naming it', async () => {
    const res = await client.get('check_license', query, { date: null });
    expect(res.body).toEqual({ status: 400, code: 'missing_headers', message: 'Missing headers: Date' });
    expect(res.status).toBe(400);
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

  it('400 invalid_api_key for an api key no account has, before the body is validated', async () => {
    const date = new Date().toUTCString();
    const unknown = signedAuthorization('00000000-0000-4000-8000-000000000000', t.credentials.sharedKey, date);
    expectError(await client.get('check_license', query, { date, authorization: unknown }), 400, 'invalid_api_key');
    expectError(await client.post('activate_license', { surprise: true }, { date, authorization: unknown }), 400, 'invalid_api_key');
  });

  it('signature_mismatch before the body is validated', async () => {
    const date = new Date().toUTCString();
    expectError(await client.post('activate_license', { product: 5 }, { date, authorization: signedAuthorization(t.credentials.licenseApiKey, 'wrong-shared-key', date) }), 400, 'signature_mismatch');
  });

  it('an unknown path or a wrong method still answers 404 / 405 without authentication', async () => {
    expectError(await client.get('no_such_operation', {}, { authorization: null }), 404, 'not_found');
    expectError(await client.post('check_license', {}, { authorization: null }), 405, 'method_not_allowed');
  });

  it("another account's license is not found with this account's keys", async () => {
    const other = await t.createAccount();
    const otherClient = new V4Client(t.baseUrl, other.credentials, (await t.services.accounts.signingKey(other.account.id)).publicKeyPem);
    expectError(await otherClient.get('check_license', query), 400, 'unknown_product');
  });
});

describe('License API v4 request errors (the vendor\'s codes, the message naming the field)', () => {
  let t: TestServer;
  let client: V4Client;
  let ids: Record<string, string>;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer());
    ({ ids } = await licenseFor(t));
  });
  afterAll(async () => t?.stop());

  const expectBody = (res: { status: number; body: unknown }, code: string, message: string) => {
    expect(res.body).toEqual({ status: 400, code, message });
    expect(res.status).toBe(400);
  };

  it('missing_parameters for a missing query or body field', async () => {
    const { hardware_id: _, ...withoutDevice } = ids;
    expectBody(await client.get('check_license', withoutDevice), 'missing_parameters', 'Missing parameters: hardware_id');
    expectBody(await client.post('activate_license', withoutDevice), 'missing_parameters', 'Missing parameters: hardware_id');
    expectBody(await client.post('activate_license', { license_key: ids.license_key! }), 'missing_parameters', 'Missing parameters: hardware_id');
  });

  it('missing_parameters when neither license_key nor username is sent', async () => {
    expectBody(await client.get('check_license', { product: ids.product!, hardware_id: 'hw-1' }), 'missing_parameters', 'Missing parameters: license_key or username');
    expectBody(await client.post('add_consumption', { product: ids.product!, hardware_id: 'hw-1' }), 'missing_parameters', 'Missing parameters: license_key or username');
  });

  it('every body naming a license: neither license_key nor username is missing_parameters, both validation_error, before other schema errors', async () => {
    const { license_key: _key, ...noKey } = ids;
    const bothNames = { ...ids, username: 'x@example.com' };
    const notBoth = 'Send either license_key or username, not both';
    for (const [operation, extra] of [
      ['deactivate_license', {}],
      ['add_consumption', {}],
      ['add_feature_consumption', { feature: 'api-calls' }],
      ['floating/release', {}],
      ['floating/borrow', {}],
      ['floating/feature_release', { feature: 'api-calls' }],
      ['floating/feature_borrow', { feature: 'api-calls' }],
    ] as const) {
      expectBody(await client.post(operation, { ...noKey, ...extra }), 'missing_parameters', 'Missing parameters: license_key or username');
      expectBody(await client.post(operation, { ...bothNames, ...extra }), 'validation_error', notBoth);
    }
    // The rule answers first, as the schema's oneOf did: before a missing or invalid other field.
    expectBody(await client.post('floating/borrow', { ...noKey, borrowed_until: 'garbage' }), 'missing_parameters', 'Missing parameters: license_key or username');
    expectBody(await client.post('add_consumption', { product: ids.product! }), 'missing_parameters', 'Missing parameters: license_key or username');
    // activate_license: a user needs a password; a key with a user (or a password) is both.
    expectBody(await client.post('activate_license', { ...noKey, username: 'x@example.com' }), 'missing_parameters', 'Missing parameters: password');
    expectBody(await client.post('activate_license', { ...noKey, password: 'pw' }), 'missing_parameters', 'Missing parameters: license_key or username');
    expectBody(await client.post('activate_license', { ...bothNames, password: 'pw' }), 'validation_error', 'Send either license_key or username and password, not both');
  });

  it('validation_error for a value that does not match the schema, or an invalid combination', async () => {
    expectBody(await client.post('activate_license', { ...ids, hardware_id: 5 }), 'validation_error', '/body/hardware_id must be string');
    expectBody(await client.post('activate_license', { ...ids, surprise: true }), 'validation_error', '/body/surprise must NOT have additional properties');
    expectBody(await client.get('check_license', { ...ids, username: 'x@example.com' }), 'validation_error', 'Send either license_key or username, not both');
    // Checks shared with the other dialects (their `validation_failed`) answer `validation_error` here.
    expectBody(await client.post('add_consumption', { ...ids, consumptions: 2 ** 53 }), 'validation_error', 'body.consumptions must be an integer from -9007199254740991 to 9007199254740991');
  });

  it('maps a required header the validator finds missing to missing_headers (unit)', () => {
    const missingDate = { status: 400, errors: [{ path: '/headers/date', message: "must have required property 'date'", errorCode: 'required.openapi.validation' }] };
    expect(classifyError(missingDate, 'v4')).toMatchObject({ status: 400, code: 'missing_headers', message: 'Missing headers: Date' });
    expect(classifyError(missingDate, 'v1')).toMatchObject({ status: 400, code: 'validation_failed' });
  });
});
