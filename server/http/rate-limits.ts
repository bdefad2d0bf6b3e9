import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit, type RateLimitInfo } from 'express-rate-limit';
import type { RateLimitConfig } from '../config.js';
import { ApiError } from './api-error.js';

/** Probes stay reachable for load balancers and orchestrators whatever a client does. */
const UNLIMITED_PATHS = new Set(['/healthz', '/readyz']);

/**
 * The credential a request carries, whatever the dialect: the Management API key (`Api-Key <key>`),
 * the License API key (`apikey="<key>"` of the signed Authorization header) or the Web API access
 * token (`Bearer <token>`). Hashed, so the limiter's memory holds no secret.
 */
export function credentialKey(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const value = authorization.trim();
  const credential = /^Api-Key +(\S+)$/i.exec(value)?.[1] ?? /(?:^|,)\s*apikey\s*=\s*"([^"]*)"/i.exec(value)?.[1] ?? /^Bearer +(\S+)$/i.exec(value)?.[1] ?? value;
  return createHash('sha256').update(credential).digest('base64url');
}

/** The vendor-style headers of a 429: the window's limit, what is left (0), when it resets, and Retry-After. */
export function rateLimitHeaders(info: RateLimitInfo, now = Date.now()): Record<string, string> {
  const resetMs = info.resetTime?.getTime() ?? now + 1_000;
  return {
    'Retry-After': String(Math.max(1, Math.ceil((resetMs - now) / 1000))),
    'X-Rate-Limit-Limit': String(info.limit),
    'X-Rate-Limit-Remaining': String(Math.max(0, info.remaining)),
    'X-Rate-Limit-Reset': String(Math.ceil(resetMs / 1000)),
  };
}

function limiter(name: string, limit: number, windowMs: number, options: { keyGenerator?: (req: Request) => string; skip: (req: Request) => boolean }): RequestHandler {
  const property = `rateLimit_${name}`;
  return rateLimit({
    windowMs,
    limit,
    standardHeaders: false,
    legacyHeaders: false,
    requestPropertyName: property,
    skip: options.skip,
    ...(options.keyGenerator ? { keyGenerator: options.keyGenerator } : {}),
    handler: (req: Request, _res: Response, next: NextFunction) => {
      const info = (req as unknown as Record<string, RateLimitInfo>)[property]!;
      const who = name === 'ip' ? 'this client address' : 'this credential';
      next(new ApiError(429, 'rate_limited', `Too many requests from ${who}; retry after the time in Retry-After`, rateLimitHeaders(info)));
    },
  });
}

/**
 * Fixed-window limits (in memory, per server process): per client IP, and per credential (whatever
 * its dialect). A limit of 0 is off. Over a limit: 429 `rate_limited` in the dialect's error body
 * with `Retry-After` and `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining`, `X-Rate-Limit-Reset`.
 */
export function rateLimits(config: RateLimitConfig): RequestHandler[] {
  const handlers: RequestHandler[] = [];
  const exempt = (req: Request) => UNLIMITED_PATHS.has(req.path);
  if (config.perIp > 0) handlers.push(limiter('ip', config.perIp, config.windowMs, { skip: exempt }));
  if (config.perKey > 0) {
    handlers.push(
      limiter('key', config.perKey, config.windowMs, {
        skip: (req) => exempt(req) || credentialKey(req.get('authorization')) === undefined,
        keyGenerator: (req) => credentialKey(req.get('authorization'))!,
      }),
    );
  }
  return handlers;
}
