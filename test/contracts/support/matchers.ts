/**
 * Pact matchers for what the client relies on: types and formats (`like`, `integer`, `regex`), with
 * literal values only where the client branches on the exact value (error codes, statuses).
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { placeholderCredentials } from './pact-setup.js';

const { like, regex } = MatchersV3;

export const patterns = {
  /** RFC 7231 IMF-fixdate, as `new Date().toUTCString()` writes it (the v4 `Date` header). */
  httpDate: '^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \\d{4} \\d{2}:\\d{2}:\\d{2} GMT$',
  /** RFC 3339 date-time in UTC with optional fractions, as `Date.prototype.toISOString()` writes it. */
  isoDateTime: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
  /** A generated license key: four groups of four. */
  licenseKey: '^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$',
  uuid: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  jsonContentType: '^application/json(;.*)?$',
  yamlContentType: '^application/yaml(;.*)?$',
  licenseApiAuthorization: '^algorithm="hmac-sha256",headers="date",signature="[A-Za-z0-9+/]+={0,2}",apikey="[^"]+"$',
  /** Standard base64 (the v4 `LicenseSignature` header and `license_signature`). */
  base64: '^[A-Za-z0-9+/]+={0,2}$',
  /** A compact JWS (the v3 activation token). */
  jwt: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
  /** A calendar date `YYYY-MM-DD` (v1 `validity_period`, `expiry_date`). */
  isoDate: '^\\d{4}-\\d{2}-\\d{2}$',
  /** Decimal digits: the v3 ids (`productId`, `licenseId`, account id) are numeric strings. */
  digits: '^[0-9]{1,19}$',
  /** A PEM public key (the v1 account's License API response-signing key). */
  publicKeyPem: '^-----BEGIN PUBLIC KEY-----\\n(.|\\n)+\\n-----END PUBLIC KEY-----\\n?$',
  htmlContentType: '^text/html(;.*)?$',
  csvContentType: '^text/csv(;.*)?$',
};

export const isoDateTime = (example = '2025-03-04T10:15:30.000Z') => regex(patterns.isoDateTime, example);
export const httpDate = (example = 'Tue, 04 Mar 2025 10:15:30 GMT') => regex(patterns.httpDate, example);
export const licenseKey = (example = 'ABCD-EFGH-JKLM-NPQR') => regex(patterns.licenseKey, example);
export const jsonContentType = () => regex(patterns.jsonContentType, 'application/json; charset=utf-8');
export const uuid = (example = '4a2b6c8d-1e3f-4a5b-8c7d-9e0f1a2b3c4d') => regex(patterns.uuid, example);
export const base64 = (example = 'kq3Yt0Nw1c2VQ5zZ0JvY2s4aW50ZWdyaXR5cGFjdA==') => regex(patterns.base64, example);
export const jwt = (example = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwYWN0In0.c2lnbmF0dXJl') => regex(patterns.jwt, example);
export const digits = (example: string) => regex(patterns.digits, example);

/**
 * Response headers of a successful License API v4 answer: JSON, and a `LicenseSignature` (base64
 * RSA-SHA256 over the body bytes) the client verifies. Its value changes with every body and key, so
 * only its presence and format are pinned.
 */
export const signedJsonResponseHeaders = () => ({ ...jsonResponseHeaders(), LicenseSignature: base64() });

/** Response headers of every JSON answer. */
export const jsonResponseHeaders = () => ({ 'Content-Type': jsonContentType() });

/** `{code, message}` of the Web API v3 and the service endpoints: the exact code, any message. */
export const webApiError = (code: string, message = 'Explanation') => ({ code, message: like(message) });

/** `{status, code, message}` of the License API v4 and Management API v1: exact status and code, any message. */
export const licenseApiError = (status: number, code: string, message = 'Explanation') => ({ status, code, message: like(message) });

/** Request headers the client sends on `/api/v1/*` (the provider swaps in the real key). */
export const managementAuthHeaders = () => ({ Authorization: `Api-Key ${placeholderCredentials.managementApiKey}` });

/** Request headers the client sends on `/v3/*` (the provider swaps in the real token). */
export const accessTokenHeaders = () => ({ Authorization: `Bearer ${placeholderCredentials.accessToken}` });

/**
 * Request headers the client sends on `/api/v4/*`: a fresh `Date` and its HMAC signature. Matched by
 * format (the signature changes every second); the provider re-signs with the real shared key.
 */
export const licenseApiAuthHeaders = () => ({
  Date: httpDate(),
  Authorization: regex(
    patterns.licenseApiAuthorization,
    `algorithm="hmac-sha256",headers="date",signature="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",apikey="${placeholderCredentials.licenseApi.apiKey}"`,
  ),
});

/**
 * An id the database generates, known only once the provider state ran: the consumer test uses
 * `example`; verification substitutes the value the state handler returned, e.g.
 * `.withRequest('GET', fromState('/api/v1/licenses/${licenseId}', '/api/v1/licenses/1000000000000001'))`
 * or, in a body, `{ license_id: fromState('${licenseId}', 1000000000000001) }`.
 */
export const fromState = <T extends string | number>(expression: string, example: T) => MatchersV3.fromProviderState(expression, example);
