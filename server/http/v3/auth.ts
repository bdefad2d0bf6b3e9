import type { Request, RequestHandler, Response } from 'express';
import type { Caller } from '../../domain/devices.js';
import { DomainError } from '../../domain/errors.js';
import type { AccountService } from '../../domain/accounts.js';
import { ApiError } from '../api-error.js';
import { toV3Scopes } from './mappers.js';

export interface V3Auth {
  accountId: number;
  accountName: string;
  scopes: string[];
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Reads an optional `Authorization: Bearer <token>`: with one, it must be valid (401
 * AUTHENTICATION_FAILED otherwise) and the request acts for the token's account; without one, the
 * request is client-side and authenticated by what its body names (license key, activation id).
 */
export function v3Authentication(accounts: Pick<AccountService, 'authenticateAccessToken'>): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined) {
      next();
      return;
    }
    const token = BEARER.exec(header)?.[1];
    if (!token) throw new ApiError(401, 'authentication_failed', 'Authorization must be "Bearer <access token>"');
    try {
      const { account, permissions } = await accounts.authenticateAccessToken(token);
      res.locals.v3Auth = { accountId: account.id, accountName: account.name, scopes: toV3Scopes(permissions) } satisfies V3Auth;
    } catch (err) {
      if (err instanceof DomainError && err.code === 'unauthenticated') throw new ApiError(401, 'authentication_failed', 'Invalid access token');
      throw err;
    }
    next();
  };
}

export function authOf(res: Response): V3Auth | undefined {
  return res.locals.v3Auth as V3Auth | undefined;
}

/** The caller of a route that accepts client-side calls; a token, when sent, needs `scope`. */
export function callerOf(res: Response, scope: string): Caller {
  const auth = authOf(res);
  if (!auth) return { accountId: null };
  requireScope(auth, scope);
  return { accountId: auth.accountId };
}

/** The token's account, for routes that need a token with `scope`. */
export function requireAuth(res: Response, scope: string): V3Auth {
  const auth = authOf(res);
  if (!auth) throw new ApiError(401, 'authentication_failed', 'This endpoint needs "Authorization: Bearer <access token>"');
  requireScope(auth, scope);
  return auth;
}

function requireScope(auth: V3Auth, scope: string): void {
  if (!auth.scopes.includes(scope)) throw new ApiError(403, 'insufficient_scope', `The access token lacks the "${scope}" scope`);
}

export function requestIdOf(res: Response): string | undefined {
  return typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
}

export function clientIp(req: Request): string | undefined {
  return req.ip ?? req.socket.remoteAddress ?? undefined;
}
