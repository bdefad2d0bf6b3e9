import type { Request } from 'express';
import { ApiError } from './api-error.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;

/** The request's `Idempotency-Key` header (undefined when absent); 400 `validation_failed` when malformed. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) throw new ApiError(400, 'validation_failed', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  return key;
}
