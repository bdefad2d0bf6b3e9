import { randomUUID } from 'node:crypto';

/**
 * Request options that send an `Idempotency-Key` header; spread into any call:
 * `client.POST('/api/v4/add_consumption', { body, ...withIdempotencyKey(key) })`. Retrying a call
 * with the same key is applied at most once by the server (per license). Without a key, a fresh
 * random one is used: keep it and reuse it for the retries of that one logical call.
 */
export function withIdempotencyKey(key: string = randomUUID()): { headers: { 'Idempotency-Key': string } } {
  return { headers: { 'Idempotency-Key': key } };
}
