import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { ApiError } from './api-error.js';
import { isDatabaseUnavailable, isWriteNotDurable } from './database-unavailable.js';
import { dialectOf, errorBody, type Dialect } from './dialect.js';

interface ValidatorErrorItem {
  path?: string;
  message?: string;
  errorCode?: string;
}

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  errors?: ValidatorErrorItem[];
  message?: string;
  headers?: Record<string, string>;
}

function describeValidationErrors(items: ValidatorErrorItem[] | undefined, fallback: string): string {
  if (!items || items.length === 0) return fallback;
  return items
    .map((item) => {
      const where = (item.path ?? '').replace(/^\.?/, '').replace(/^(body|query|params|headers)\./, '$1.');
      return [where, item.message].filter(Boolean).join(' ');
    })
    .join('; ');
}

/** What the validator found missing in `where` (`headers`, `query`, `body`): the names, e.g. `hardware_id`. */
function missingIn(items: ValidatorErrorItem[], where: string): string[] {
  return items
    .filter((item) => item.errorCode === 'required.openapi.validation' && (item.path === `/${where}` || item.path?.startsWith(`/${where}/`)))
    .map((item) => item.path!.slice(where.length + 2).replaceAll('/', '.') || 'the request body');
}

const headerName = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());

/**
 * The License API's answer to a request the validator refused, with the vendor's codes
 * (https://docs.licensespring.com/license-api/error-responses): `missing_headers` when a required
 * header is missing, else `missing_parameters` when a required query or body field is, else
 * `validation_error`; the message names the headers or fields.
 */
function v4RequestError(items: ValidatorErrorItem[] | undefined): ApiError {
  const all = items ?? [];
  const headers = missingIn(all, 'headers');
  if (headers.length > 0) return new ApiError(400, 'missing_headers', `Missing headers: ${headers.map(headerName).join(', ')}`);
  const parameters = [...missingIn(all, 'query'), ...missingIn(all, 'body')];
  // Required by the branches of a oneOf / anyOf (e.g. license_key or username): any one will do.
  const alternatives = all.some((item) => item.errorCode === 'oneOf.openapi.validation' || item.errorCode === 'anyOf.openapi.validation');
  if (parameters.length > 0) return new ApiError(400, 'missing_parameters', `Missing parameters: ${parameters.join(alternatives ? ' or ' : ', ')}`);
  return new ApiError(400, 'validation_error', describeValidationErrors(items, 'The request is invalid'));
}

/**
 * Maps any error (ours, the JSON parser's, the OpenAPI validator's) to a status, code and message,
 * in the terms of the dialect the request's path belongs to: the License API (v4) answers request
 * errors with the vendor's codes, and our shared `validation_failed` as its `validation_error`.
 */
export function classifyError(err: unknown, dialect: Dialect = 'service'): ApiError {
  if (err instanceof ApiError) {
    return dialect === 'v4' && err.code === 'validation_failed' ? new ApiError(err.status, 'validation_error', err.message, err.headers) : err;
  }
  const e = (err ?? {}) as HttpLikeError;
  const status = e.status ?? e.statusCode;
  if (e.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', 'The request body is not valid JSON');
  if (e.type === 'entity.too.large') return new ApiError(413, 'payload_too_large', 'The request body is too large');
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    return new ApiError(415, 'unsupported_media_type', 'Unsupported request body encoding');
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    switch (status) {
      case 400:
        if (dialect === 'v4') return v4RequestError(e.errors);
        return new ApiError(400, 'validation_failed', describeValidationErrors(e.errors, 'The request is invalid'));
      case 401:
        return new ApiError(401, 'authentication_failed', 'Authentication failed');
      case 404:
        return new ApiError(404, 'not_found', 'Not found');
      case 405:
        return new ApiError(405, 'method_not_allowed', 'Method not allowed', e.headers ?? {});
      case 413:
        return new ApiError(413, 'payload_too_large', 'The request body is too large');
      case 415:
        return new ApiError(415, 'unsupported_media_type', describeValidationErrors(e.errors, 'Unsupported media type'));
      default:
        return new ApiError(status, 'bad_request', describeValidationErrors(e.errors, 'Bad request'));
    }
  }
  if (status === 500 && Array.isArray(e.errors) && /response/i.test(e.message ?? '')) {
    // Only when response validation is on (test and development): the server broke its contract.
    return new ApiError(500, 'response_validation_failed', describeValidationErrors(e.errors, 'Response does not match the spec'));
  }
  if (status === 503) return new ApiError(503, 'service_unavailable', 'The service is temporarily unavailable');
  if (isWriteNotDurable(err)) {
    return new ApiError(503, 'service_unavailable', 'The change could not be stored durably (the database refuses writes for now); retry later with the same Idempotency-Key', { 'Retry-After': '1' });
  }
  if (isDatabaseUnavailable(err)) {
    return new ApiError(503, 'service_unavailable', 'The database is temporarily unreachable; retry later', { 'Retry-After': '1' });
  }
  return new ApiError(500, 'internal_error', 'Internal server error');
}

export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const dialect = dialectOf(req.path);
    const apiError = classifyError(err, dialect);
    const requestId = res.getHeader('x-request-id');
    if (apiError.status === 503) {
      logger.warn({ requestId, err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'service unavailable');
    } else if (apiError.status >= 500) {
      logger.error({ requestId, err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err) }, 'request failed');
    }
    for (const [name, value] of Object.entries(apiError.headers)) res.setHeader(name, value);
    res.status(apiError.status).json(errorBody(dialect, apiError.status, apiError.code, apiError.message));
  };
}

/** Unknown paths outside the spec's reach still answer 404 in the dialect's format. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `${req.method} ${req.path}: not found`));
};
