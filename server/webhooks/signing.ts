import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { SignatureScheme } from '../domain/ports.js';

/** The headers of one delivery attempt, per the subscription's signature scheme. */
export function signatureHeaders(scheme: SignatureScheme, secret: string, eventId: string, sentAt: Date, body: string): Record<string, string> {
  const timestamp = String(Math.floor(sentAt.getTime() / 1000));
  if (scheme === 'vendor') {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    return { 'webhook-id': eventId, 'webhook-timestamp': timestamp, 'webhook-signature': createHmac('sha256', key).update(body, 'utf8').digest('base64') };
  }
  // The library decodes the `whsec_` secret to its 32 bytes and signs "id.timestamp.body".
  return { 'webhook-id': eventId, 'webhook-timestamp': timestamp, 'webhook-signature': new Webhook(secret).sign(eventId, sentAt, body) };
}
