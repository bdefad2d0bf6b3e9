import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook, WebhookVerificationError as StandardWebhookError } from 'standardwebhooks';

/** Incoming request headers, as Node (`IncomingHttpHeaders`) or fetch (`Headers`) gives them. */
export type IncomingHeaders = Headers | Record<string, string | string[] | undefined>;

/** Which signature scheme a subscription uses (`signatureScheme` of the subscription). */
export type WebhookSignatureScheme = 'standard-webhooks' | 'vendor';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

export interface VerifyWebhookInput {
  /** The subscription's secret exactly as returned on creation: `whsec_<base64 of 32 bytes>`. */
  secret: string;
  /** The raw request body, byte for byte (verify before parsing JSON: re-serialising breaks the signature). */
  rawBody: string | Uint8Array;
  headers: IncomingHeaders;
  /** Defaults to `standard-webhooks` (the server's default). */
  scheme?: WebhookSignatureScheme;
}

function header(headers: IncomingHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === wanted) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

function secretBytes(secret: string): Buffer {
  const bytes = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  if (bytes.length === 0) throw new WebhookVerificationError('The webhook secret is empty or not base64');
  return bytes;
}

function bodyText(rawBody: string | Uint8Array): string {
  return typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new WebhookVerificationError('The webhook body is not JSON');
  }
}

/**
 * Standard Webhooks: `webhook-id`, `webhook-timestamp` (rejected when more than 5 minutes off) and
 * `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`, verified by the
 * `standardwebhooks` library (constant-time, any of several space-separated signatures).
 */
function verifyStandard(input: VerifyWebhookInput): unknown {
  const id = header(input.headers, 'webhook-id');
  const timestamp = header(input.headers, 'webhook-timestamp');
  const signature = header(input.headers, 'webhook-signature');
  if (!id || !timestamp || !signature) throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature header');
  try {
    return new Webhook(secretBytes(input.secret), { format: 'raw' }).verify(bodyText(input.rawBody), {
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': signature,
    });
  } catch (err) {
    if (err instanceof StandardWebhookError) throw new WebhookVerificationError(err.message);
    throw err;
  }
}

/**
 * Vendor scheme (https://docs.cryptlex.com/webhooks): `Webhook-Signature: base64(HMAC-SHA256(key, raw
 * body))`, the key being the secret string itself (its UTF-8 bytes, `whsec_` included); compared in
 * constant time.
 */
function verifyVendor(input: VerifyWebhookInput): unknown {
  const signature = header(input.headers, 'webhook-signature');
  if (!signature) throw new WebhookVerificationError('Missing Webhook-Signature header');
  if (input.secret.length === 0) throw new WebhookVerificationError('The webhook secret is empty');
  const raw = typeof input.rawBody === 'string' ? Buffer.from(input.rawBody, 'utf8') : Buffer.from(input.rawBody);
  const expected = createHmac('sha256', Buffer.from(input.secret, 'utf8')).update(raw).digest();
  const given = Buffer.from(signature.trim(), 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new WebhookVerificationError('The webhook signature does not match');
  }
  return parse(raw.toString('utf8'));
}

/**
 * Verifies an incoming webhook delivery and returns its parsed JSON payload; throws
 * `WebhookVerificationError` when the signature (or, for Standard Webhooks, the timestamp) is wrong.
 */
export function verifyWebhook<Payload = unknown>(input: VerifyWebhookInput): Payload {
  return (input.scheme === 'vendor' ? verifyVendor(input) : verifyStandard(input)) as Payload;
}
