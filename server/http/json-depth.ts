import type { RequestHandler } from 'express';
import { ApiError } from './api-error.js';

/** Deepest accepted nesting of objects and arrays in a JSON request body (no operation needs more than a few). */
export const MAX_JSON_DEPTH = 32;

/** How deeply `value` nests objects and arrays (iteratively: a hostile body cannot blow the stack). */
export function jsonDepth(value: unknown, stopAbove = Infinity): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > stopAbove) return deepest;
    for (const child of Array.isArray(item) ? item : Object.values(item as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, level]);
    }
  }
  return deepest;
}

/** Rejects a parsed JSON body nested deeper than `max` levels: 400 `json_too_deep`. */
export function jsonDepthLimit(max = MAX_JSON_DEPTH): RequestHandler {
  return (req, _res, next) => {
    if (req.body !== null && typeof req.body === 'object' && jsonDepth(req.body, max) > max) {
      next(new ApiError(400, 'json_too_deep', `The request body nests objects and arrays more than ${max} levels deep`));
      return;
    }
    next();
  };
}
