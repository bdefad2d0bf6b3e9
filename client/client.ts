import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from '../generated/schema.js';
import { authMiddleware, type AuthOptions } from './auth.js';
import type { LicenseApiCredentials } from './license-api-signature.js';

export interface LicensingClientOptions {
  /** Where the API is served, e.g. `https://licensing.example.com` (a path prefix is fine). */
  baseUrl: string;
  /** Management API v1 key (`/api/v1/*`). */
  managementApiKey?: string;
  /** License API v4 key and shared key (`/api/v4/*`, HMAC-signed per request). */
  licenseApi?: LicenseApiCredentials;
  /** Web API v3 access token (`/v3/*`). */
  accessToken?: string;
  /** A fetch implementation (defaults to the global one). */
  fetch?: (input: Request) => Promise<Response>;
  /** Extra openapi-fetch middleware, run after authentication (logging, retries, tracing). */
  middleware?: Middleware[];
  /** Clock for the License API `Date` header (tests). */
  now?: AuthOptions['now'];
}

/**
 * An operation as the client takes it: the License API's `Date` header parameter is optional, since
 * the authentication middleware sets it (with the HMAC signature over it) on every `/api/v4` request.
 */
type WithSignedDate<Op> = Op extends { parameters: { header: infer H } }
  ? Omit<Op, 'parameters'> & { parameters: Omit<Op['parameters'], 'header'> & { header?: Omit<H, 'Date'> & { Date?: string } } }
  : Op;

/** The spec's paths with every operation as the client takes it (see WithSignedDate). */
export type ClientPaths = { [P in keyof paths]: { [M in keyof paths[P]]: WithSignedDate<paths[P][M]> } };

/** The typed client: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` over every path of the spec. */
export type LicensingClient = Client<ClientPaths>;

/**
 * A typed client for every operation of the bundled spec (`generated/schema.d.ts`): paths, params,
 * bodies, responses and error bodies all come from the spec. Authentication is added per request by
 * path prefix; calls resolve to `{ data, error, response }` (use `unwrap()` to get data or throw).
 */
export function createLicensingClient(options: LicensingClientOptions): LicensingClient {
  const client = createClient<ClientPaths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  client.use(
    authMiddleware({
      managementApiKey: options.managementApiKey,
      licenseApi: options.licenseApi,
      accessToken: options.accessToken,
      ...(options.now ? { now: options.now } : {}),
    }),
  );
  for (const middleware of options.middleware ?? []) client.use(middleware);
  return client;
}
