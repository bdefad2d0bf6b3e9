import { createHmac } from 'node:crypto';
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

/**
 * Parses `algorithm="hmac-sha256",headers="date",signature="<base64>",apikey="<key>"` (any order,
 * optional spaces). Null when malformed: unknown or repeated parameters, a missing one, another
 * algorithm, or other signed headers than `date`.
 */
export function parseAuthorization(header: string): LicenseApiAuthorization | null {
  const params = new Map<string, string>();
  PARAM.lastIndex = 0;
  let consumed = 0;
  while (consumed < header.length) {
    PARAM.lastIndex = consumed;
    const m = PARAM.exec(header);
    if (!m) return null;
    const name = m[1]!.toLowerCase();
    if (params.has(name)) return null;
    params.set(name, m[2]!);
    consumed = PARAM.lastIndex;
    if (m[3] === '') break;
  }
  if (consumed !== header.length) return null;
  const [algorithm, headers, signature, apikey] = ['algorithm', 'headers', 'signature', 'apikey'].map((n) => params.get(n));
  if (params.size !== 4 || !algorithm || !headers || !signature || !apikey) return null;
  if (algorithm.toLowerCase() !== 'hmac-sha256' || headers.trim().toLowerCase() !== 'date') return null;
  return { algorithm, headers, signature, apikey };
}

/** An RFC 7231 IMF-fixdate (`Thu, 17 Nov 2022 20:51:35 GMT`), or null. */
export function parseHttpDate(value: string): Date | null {
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toUTCString() === value ? date : null;
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
 * Authenticates every License API request (HMAC over the `Date` header with the account's shared key).
 * Errors: 400 `hmac_required`, `authorization_invalid_headers`, `date_header_diff`, `signature_mismatch`;
 * 401 `unknown_api_key`.
 */
export function licenseApiAuth(services: Pick<LicenseApiDeps, 'accounts' | 'clock' | 'credentials'>): RequestHandler {
  const credentials = cachedCredentials((apiKey) => services.accounts.authenticateLicenseApiKey(apiKey), services.credentials);
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') throw new ApiError(400, 'hmac_required', 'The request must be signed: send the Authorization and Date headers');
    const auth = parseAuthorization(header);
    if (!auth) {
      throw new ApiError(400, 'authorization_invalid_headers', 'Malformed Authorization header: expected algorithm="hmac-sha256",headers="date",signature="<base64>",apikey="<api key>"');
    }
    const dateHeader = req.get('date');
    const date = dateHeader === undefined ? null : parseHttpDate(dateHeader);
    if (dateHeader === undefined || !date) throw new ApiError(400, 'authorization_invalid_headers', 'The Date header must be an RFC 7231 date in GMT, e.g. "Thu, 17 Nov 2022 20:51:35 GMT"');
    if (Math.abs(services.clock.now().getTime() - date.getTime()) > MAX_DATE_SKEW_MS) {
      throw new ApiError(400, 'date_header_diff', 'The Date header is more than 15 minutes away from the server time');
    }
    let found: { account: Account; sharedKey: string };
    try {
      found = await credentials(auth.apikey);
    } catch (err) {
      if (isDomainError(err, 'unauthenticated')) throw new ApiError(401, 'unknown_api_key', 'Unknown License API key');
      throw err;
    }
    if (!constantTimeEqual(requestSignature(found.sharedKey, dateHeader), auth.signature)) {
      throw new ApiError(400, 'signature_mismatch', 'The request signature does not match');
    }
    const caller: LicenseApiCaller = { account: found.account };
    res.locals.licenseApi = caller;
    next();
  };
}
