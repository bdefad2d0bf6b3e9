import { createHmac } from 'node:crypto';
import { parseHttpDate } from '../http-date.js';
import type { RequestHandler, Response } from 'express';
import { constantTimeEqual } from '../../domain/secrets.js';
import { isDomainError } from '../../domain/errors.js';
import type { Account } from '../../domain/types.js';
import { ApiError } from '../api-error.js';
import { cachedCredentials } from './credential-cache.js';
import type { LicenseApiDeps } from './router.js';

/** Largest accepted distance between the request's `Date` header and server time. */
export const MAX_DATE_SKEW_MS = 15 * 60 * 1000;

/** The string a License API request signs: the literal prefix and the `Date` header value. */
export function signingString(date: string): string {
  return `licenseSpring\ndate: ${date}`;
}

/** base64(HMAC-SHA256(shared key, signing string)). */
export function requestSignature(sharedKey: string, date: string): string {
  return createHmac('sha256', sharedKey).update(signingString(date), 'utf8').digest('base64');
}

export interface LicenseApiAuthorization {
  algorithm: string;
  headers: string;
  signature: string;
  apikey: string;
}

const PARAM = /\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(,|$)/y;
const PARAMS = ['algorithm', 'headers', 'signature', 'apikey'] as const;

/** Why an Authorization header was refused: the vendor's code and a message naming what is wrong. */
export interface AuthorizationProblem {
  code: 'authorization_invalid_headers' | 'authorization_missing_params' | 'hmac_required';
  message: string;
}

const MALFORMED: AuthorizationProblem = {
  code: 'authorization_invalid_headers',
  message: 'Malformed Authorization header: expected algorithm="hmac-sha256",headers="date",signature="<base64>",apikey="<api key>"',
};

/**
 * Parses `algorithm="hmac-sha256",headers="date",signature="<base64>",apikey="<key>"` (any order,
 * optional spaces), or says why not: `authorization_missing_params` when the header has the
 * documented form but lacks one of the four parameters (or leaves it empty), `hmac_required` for
 * another algorithm (the vendor's SDK page: "hmac is required algorithm"), and
 * `authorization_invalid_headers` for anything else (not that form, unknown or repeated
 * parameters, other signed headers than `date`).
 */
export function parseAuthorization(header: string): LicenseApiAuthorization | AuthorizationProblem {
  const params = new Map<string, string>();
  let consumed = 0;
  while (consumed < header.length) {
    PARAM.lastIndex = consumed;
    const m = PARAM.exec(header);
    if (!m) return MALFORMED;
    const name = m[1]!.toLowerCase();
    if (params.has(name) || !(PARAMS as readonly string[]).includes(name)) return MALFORMED;
    params.set(name, m[2]!);
    consumed = PARAM.lastIndex;
    if (m[3] === '') break;
  }
  if (consumed !== header.length || params.size === 0) return MALFORMED;
  const missing = PARAMS.filter((name) => !params.get(name));
  if (missing.length > 0) return { code: 'authorization_missing_params', message: `The Authorization header lacks ${missing.join(', ')}` };
  const [algorithm, headers, signature, apikey] = PARAMS.map((name) => params.get(name)!) as [string, string, string, string];
  if (algorithm.toLowerCase() !== 'hmac-sha256') return { code: 'hmac_required', message: 'The Authorization algorithm must be "hmac-sha256"' };
  if (headers.trim().toLowerCase() !== 'date') return { ...MALFORMED, message: 'The Authorization header must sign exactly the Date header: headers="date"' };
  return { algorithm, headers, signature, apikey };
}

function isProblem(parsed: LicenseApiAuthorization | AuthorizationProblem): parsed is AuthorizationProblem {
  return 'code' in parsed;
}

/** What a request authenticated as: the account (kept in `res.locals.licenseApi`). */
export interface LicenseApiCaller {
  account: Account;
}

export function callerOf(locals: Record<string, unknown>): LicenseApiCaller {
  const caller = locals.licenseApi as LicenseApiCaller | undefined;
  if (!caller) throw new Error('License API route reached without authentication');
  return caller;
}

/** The account the request authenticated as. */
export function accountOf(res: Response): Account {
  return callerOf(res.locals).account;
}

/**
 * Authenticates every License API request (HMAC over the `Date` header with the account's shared
 * key). Mounted before request validation (see MountedApi.authenticate), so a request that fails
 * here answers its authentication error whatever else is wrong with it, as the vendor's API does.
 * Errors, all 400: `hmac_required`, `authorization_missing_params`, `authorization_invalid_headers`,
 * `missing_headers` (no Date), `date_header_diff`, `invalid_api_key`, `signature_mismatch`.
 */
export function licenseApiAuth(services: Pick<LicenseApiDeps, 'accounts' | 'clock' | 'credentials'>): RequestHandler {
  const credentials = cachedCredentials((apiKey) => services.accounts.authenticateLicenseApiKey(apiKey), services.credentials);
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') throw new ApiError(400, 'hmac_required', 'The request must be signed: send the Authorization and Date headers');
    const auth = parseAuthorization(header);
    if (isProblem(auth)) throw new ApiError(400, auth.code, auth.message);
    const dateHeader = req.get('date');
    if (dateHeader === undefined) throw new ApiError(400, 'missing_headers', 'Missing headers: Date');
    const date = parseHttpDate(dateHeader, services.clock.now());
    if (!date) throw new ApiError(400, 'authorization_invalid_headers', 'The Date header must be an HTTP date (RFC 9110), e.g. "Thu, 17 Nov 2022 20:51:35 GMT"');
    if (Math.abs(services.clock.now().getTime() - date.getTime()) > MAX_DATE_SKEW_MS) {
      throw new ApiError(400, 'date_header_diff', 'The Date header is more than 15 minutes away from the server time');
    }
    let found: { account: Account; sharedKey: string };
    try {
      found = await credentials(auth.apikey);
    } catch (err) {
      if (isDomainError(err, 'unauthenticated')) throw new ApiError(400, 'invalid_api_key', 'The api key is not a License API key of any account');
      throw err;
    }
    // 400, as the vendor's License API reference lists it (its SDK page says 401): see V4BadRequest.
    if (!constantTimeEqual(requestSignature(found.sharedKey, dateHeader), auth.signature)) {
      throw new ApiError(400, 'signature_mismatch', 'The request signature does not match');
    }
    const caller: LicenseApiCaller = { account: found.account };
    res.locals.licenseApi = caller;
    next();
  };
}
