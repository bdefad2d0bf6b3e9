import type { RequestHandler } from 'express';
import { ApiError } from './api-error.js';
import { headerLines } from './raw-headers.js';
import { dialectOf } from './dialect.js';

/**
 * 400 for a request with more than one `Authorization` header. Node keeps only the first in
 * `req.headers`, so which credential counts would depend on the order a proxy or client wrote them:
 * such a request is refused instead (`authorization_invalid_headers` on the License API, the
 * vendor's code for malformed authorization headers; `duplicate_authorization_header` elsewhere).
 */
export function singleAuthorization(): RequestHandler {
  return (req, _res, next) => {
    if (headerLines(req, 'authorization') <= 1) return next();
    const code = dialectOf(req.path) === 'v4' ? 'authorization_invalid_headers' : 'duplicate_authorization_header';
    next(new ApiError(400, code, 'The request carries more than one Authorization header'));
  };
}
