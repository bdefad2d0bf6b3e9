import type { Middleware } from 'openapi-fetch';
import { dialectOfPath } from './errors.js';
import { signLicenseApiRequest, type LicenseApiCredentials } from './license-api-signature.js';

export interface AuthOptions {
  /** Management API v1 key: `Authorization: Api-Key <key>` on `/api/v1/*`. */
  managementApiKey?: string | undefined;
  /** License API v4 credentials: a fresh HMAC-signed `Date` + `Authorization` on every `/api/v4/*` request. */
  licenseApi?: LicenseApiCredentials | undefined;
  /** Web API v3 access token: `Authorization: Bearer <token>` on `/v3/*`. */
  accessToken?: string | undefined;
  /** The clock used for the v4 `Date` header (tests). */
  now?: () => Date;
}

/**
 * One middleware that authenticates each request by the dialect of its spec path. An `Authorization`
 * header set explicitly on a call wins (so a test can send a deliberately wrong one). Service
 * endpoints (`/healthz`, `/readyz`, `/openapi.*`) get nothing.
 */
export function authMiddleware(options: AuthOptions): Middleware {
  const now = options.now ?? (() => new Date());
  return {
    onRequest({ request, schemaPath }) {
      if (request.headers.has('Authorization')) return request;
      switch (dialectOfPath(schemaPath)) {
        case 'v1':
          if (options.managementApiKey) request.headers.set('Authorization', `Api-Key ${options.managementApiKey}`);
          break;
        case 'v4':
          if (options.licenseApi) {
            const signed = signLicenseApiRequest(options.licenseApi, now().toUTCString());
            request.headers.set('Date', signed.Date);
            request.headers.set('Authorization', signed.Authorization);
          }
          break;
        case 'v3':
          if (options.accessToken) request.headers.set('Authorization', `Bearer ${options.accessToken}`);
          break;
        case 'service':
          break;
      }
      return request;
    },
  };
}
