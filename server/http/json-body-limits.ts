import type { RequestHandler } from 'express';
import { ApiError } from './api-error.js';

/** Largest accepted request body, in bytes (100 kB). */
export const BODY_LIMIT_BYTES = 100 * 1024;

/**
 * 413 `payload_too_large` as soon as the headers declare (`Content-Length`) a body over
 * `limitBytes`, before any of it is read, and the connection is closed after the answer: a client
 * cannot hold the socket by announcing a huge body and sending it slowly, or not at all. Bodies
 * without a length (chunked) are cut off by the JSON parser when they pass the limit.
 */
export function declaredBodyLimit(limitBytes = BODY_LIMIT_BYTES): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limitBytes) {
      res.setHeader('Connection', 'close');
      next(new ApiError(413, 'payload_too_large', 'The request body is too large'));
      return;
    }
    next();
  };
}

/** Deepest accepted nesting of objects and arrays in a JSON request body (no operation needs more than a few). */
export const MAX_JSON_DEPTH = 32;

export interface JsonBodyProblem {
  kind: 'too_deep' | 'unsafe_integer';
  /** Where, as `body.a.0.b`. */
  path: string;
}

/**
 * Walks a parsed JSON body (iteratively: a hostile body cannot blow the stack) and reports the
 * first problem: nesting deeper than `maxDepth`, or an integral number beyond ±(2^53 − 1). Such a
 * number (e.g. an int64 beyond what a double holds, or `1e400`) was already rounded by the JSON
 * parser, so the value the client meant cannot be known: it is rejected, not silently changed.
 */
export function findJsonBodyProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonBodyProblem | null {
  const stack: Array<[unknown, number, string]> = [[value, 0, 'body']];
  while (stack.length > 0) {
    const [item, depth, path] = stack.pop()!;
    if (typeof item === 'number') {
      if ((Number.isInteger(item) || !Number.isFinite(item)) && !Number.isSafeInteger(item)) return { kind: 'unsafe_integer', path };
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > maxDepth) return { kind: 'too_deep', path };
    const entries = Array.isArray(item) ? item.map((v, i) => [String(i), v] as const) : Object.entries(item as Record<string, unknown>);
    for (const [key, child] of entries) stack.push([child, depth + 1, `${path}.${key}`]);
  }
  return null;
}

/** 400 `json_too_deep` for bodies nested deeper than `maxDepth`; 400 `validation_failed` for integers a double cannot hold. */
export function jsonBodyLimits(maxDepth = MAX_JSON_DEPTH): RequestHandler {
  return (req, _res, next) => {
    if (req.body === null || typeof req.body !== 'object') return next();
    const problem = findJsonBodyProblem(req.body, maxDepth);
    if (problem?.kind === 'too_deep') {
      next(new ApiError(400, 'json_too_deep', `The request body nests objects and arrays more than ${maxDepth} levels deep`));
      return;
    }
    if (problem?.kind === 'unsafe_integer') {
      next(new ApiError(400, 'validation_failed', `${problem.path} must be an integer from -9007199254740991 to 9007199254740991`));
      return;
    }
    next();
  };
}
