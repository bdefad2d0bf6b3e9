import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { SignatureScheme } from '../domain/ports.js';

/** The headers of one delivery attempt, per the subscription's signature scheme. */
export function signatureHeaders(scheme: SignatureScheme, secret: string, eventId: string, sentAt: Date, body: string): Record<string, string> {
  const timestamp = String(Math.floor(sentAt.getTime() / 1000));
  if (scheme === 'vendor') {
    // The vendor's scheme (https://docs.cryptlex.com/webhooks): HMAC-SHA256 of the raw body keyed with
    // the secret string itself (its UTF-8 bytes, `whsec_` included), base64, in `Webhook-Signature`.
    const signature = createHmac('sha256', Buffer.from(secret, 'utf8')).update(body, 'utf8').digest('base64');
    return { 'webhook-id': eventId, 'webhook-timestamp': timestamp, 'webhook-signature': signature, 'content-type': 'application/json; charset=utf-8' };
  }
  // The library decodes the `whsec_` secret to its 32 bytes and signs "id.timestamp.body".
  return { 'webhook-id': eventId, 'webhook-timestamp': timestamp, 'webhook-signature': new Webhook(secret).sign(eventId, sentAt, body) };
}
