import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Path segments that are credentials: a Web API v3 activation id alone authorizes changing and
 * deleting its activation (`/v3/activations/{id}`; `meter-attributes` is a fixed segment, not an
 * id). Matched without regard to case and repeated slashes, as routing matches them.
 */
const CREDENTIAL_IN_PATH = /^(\/+v3\/+activations\/+)(?!meter-attributes(?:\/|$))[^/]+/i;

/** The path as logged: credential segments read `[redacted]`. */
export function loggedPath(path: string): string {
  return path.replace(CREDENTIAL_IN_PATH, '$1[redacted]');
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is sane, a new UUID otherwise),
 * echoes it, and logs one line per request: method, path (credentials redacted), status, duration
 * and the client's address (`req.ip`: behind a proxy trusted by TRUST_PROXY, the address it
 * forwards). Never headers, bodies or the query string.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    // The full path as received (routers mounted at a base path rewrite req.path), credentials
    // redacted; never the query string, which may carry a license key or a hardware id.
    const path = loggedPath(req.path);
    // As received: spec routing serves a HEAD as its GET.
    const method = req.method;
    res.on('finish', () => {
      if (!logger.isLevelEnabled('info')) return;
      logger.info(
        { requestId, method, path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, ip: req.ip },
        'request',
      );
    });
    next();
  };
}
