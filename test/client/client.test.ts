import { describe, expect, it } from 'vitest';
import { authMiddleware, createLicensingClient, LicensingApiError, unwrap, withIdempotencyKey } from '../../client/index.js';
import { licenseApiSignature } from '../../client/license-api-signature.js';
import type { MiddlewareCallbackParams } from 'openapi-fetch';

const fixedNow = new Date('2025-03-04T10:15:30Z');
const auth = authMiddleware({
  managementApiKey: 'mgmt-key',
  licenseApi: { apiKey: 'lic-key', sharedKey: 'shared' },
  accessToken: 'token-1',
  now: () => fixedNow,
});

async function authenticate(schemaPath: string, init?: RequestInit): Promise<Headers> {
  const request = new Request(`http://api.test${schemaPath}`, init);
  const out = await auth.onRequest?.({ request, schemaPath, params: {}, id: '1', options: {} as MiddlewareCallbackParams['options'] });
  return (out as Request).headers;
}

/** A fetch that records requests and answers with the given status and body. */
function fakeFetch(status: number, body: string | null, contentType = 'application/json') {
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    requests.push(request);
    return new Response(body, { status, headers: body === null ? {} : { 'Content-Type': contentType } });
  };
  return { fetch, requests };
}

describe('authentication by path prefix', () => {
  it('signs /api/v4 requests with a fresh HMAC Date and Authorization', async () => {
    const headers = await authenticate('/api/v4/add_consumption');
    expect(headers.get('Date')).toBe('Tue, 04 Mar 2025 10:15:30 GMT');
    expect(headers.get('Authorization')).toBe(
      `algorithm="hmac-sha256",headers="date",signature="${licenseApiSignature('shared', 'Tue, 04 Mar 2025 10:15:30 GMT')}",apikey="lic-key"`,
    );
  });

  it('sends Api-Key on /api/v1 and Bearer on /v3, nothing on service endpoints', async () => {
    expect((await authenticate('/api/v1/licenses/{id}')).get('Authorization')).toBe('Api-Key mgmt-key');
    expect((await authenticate('/v3/activations/{id}')).get('Authorization')).toBe('Bearer token-1');
    const service = await authenticate('/healthz');
    expect(service.get('Authorization')).toBeNull();
    expect(service.get('Date')).toBeNull();
  });

  it('keeps an Authorization header set explicitly on the call', async () => {
    expect((await authenticate('/api/v1/licenses', { headers: { Authorization: 'Api-Key other' } })).get('Authorization')).toBe('Api-Key other');
  });

  it('adds nothing for a dialect without configured credentials', async () => {
    const bare = authMiddleware({});
    const request = new Request('http://api.test/api/v4/x');
    const out = (await bare.onRequest?.({ request, schemaPath: '/api/v4/x', params: {}, id: '1', options: {} as MiddlewareCallbackParams['options'] })) as Request;
    expect(out.headers.get('Authorization')).toBeNull();
  });
});

describe('createLicensingClient', () => {
  it('calls the typed operation under the base URL (prefix kept) with an optional Idempotency-Key', async () => {
    const { fetch, requests } = fakeFetch(200, '{"status":"ok"}');
    const client = createLicensingClient({ baseUrl: 'http://api.test/licensing/', fetch });
    const data = unwrap(await client.GET('/healthz', withIdempotencyKey('key-1')));
    expect(data).toEqual({ status: 'ok' });
    expect(requests[0]?.url).toBe('http://api.test/licensing/healthz');
    expect(requests[0]?.headers.get('Idempotency-Key')).toBe('key-1');
  });

  it('calls License API operations without a Date parameter: the middleware signs with the current one', async () => {
    const { fetch, requests } = fakeFetch(200, '{"id":1}');
    const client = createLicensingClient({ baseUrl: 'http://api.test', fetch, licenseApi: { apiKey: 'lic-key', sharedKey: 'shared' }, now: () => fixedNow });
    // Type-checked by \`npm run typecheck\`: no \`params.header\` is needed for the required Date header.
    await client.GET('/api/v4/check_license', { params: { query: { product: 'p', hardware_id: 'hw', license_key: 'K' } } });
    await client.POST('/api/v4/add_consumption', { body: { product: 'p', hardware_id: 'hw', license_key: 'K', consumptions: 1 } });
    await client.POST('/api/v4/floating/release', { body: { product: 'p', hardware_id: 'hw', license_key: 'K' } });
    await client.POST('/api/v4/floating/borrow', { body: { product: 'p', hardware_id: 'hw', license_key: 'K', borrowed_until: null } });
    for (const request of requests) {
      expect(request.headers.get('Date')).toBe('Tue, 04 Mar 2025 10:15:30 GMT');
      expect(request.headers.get('Authorization')).toContain(`signature="${licenseApiSignature('shared', 'Tue, 04 Mar 2025 10:15:30 GMT')}"`);
    }
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual(['/api/v4/check_license', '/api/v4/add_consumption', '/api/v4/floating/release', '/api/v4/floating/borrow']);
    expect(await requests[3]?.json()).toEqual({ product: 'p', hardware_id: 'hw', license_key: 'K', borrowed_until: null });
  });

  it('unwrap throws a typed error with the status, code and message of the body', async () => {
    const { fetch } = fakeFetch(503, '{"code":"SERVICE_UNAVAILABLE","message":"The database is unreachable"}');
    const client = createLicensingClient({ baseUrl: 'http://api.test', fetch });
    const result = await client.GET('/readyz');
    const err = (() => {
      try {
        unwrap(result);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(LicensingApiError);
    expect(err).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', message: 'The database is unreachable', dialect: 'service' });
  });

  it('unwrap decides on response.ok, not on error: a non-2xx answer without a body still throws', async () => {
    const { fetch } = fakeFetch(502, null);
    const client = createLicensingClient({ baseUrl: 'http://api.test', fetch });
    const result = await client.GET('/healthz');
    expect(() => unwrap(result)).toThrow(LicensingApiError);
    expect(() => unwrap(result)).toThrow(expect.objectContaining({ status: 502, code: 'unknown_error' }));
  });

  it('tells the dialect from the request URL, also under a prefix', () => {
    const response = new Response('{"status":400,"code":"validation_failed","message":"bad"}', { status: 400 });
    Object.defineProperty(response, 'url', { value: 'http://api.test/prefix/api/v4/add_consumption' });
    expect(() => unwrap({ error: { status: 400, code: 'validation_failed', message: 'bad' }, response })).toThrow(
      expect.objectContaining({ dialect: 'v4', status: 400, code: 'validation_failed', message: 'bad' }),
    );
  });
});
