import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from '../../client/index.js';

// 32 bytes 0x00..0x1f. The vendor vector was computed outside this code base, from the vendor's
// webhooks page (HMAC-SHA256 keyed with the secret string, base64):
//   printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -binary | base64
const secret = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const body = '{"type":"activation.updated","data":{"id":"a1"}}';
const vendorSignature = 'kSyTpdo5zKSyb5OOqZMsQMsi3vPZM9iVvL6bT2FsVtQ=';

describe('webhook verification: Standard Webhooks', () => {
  const signer = new Webhook(secret);
  const id = 'msg_2Yk3';
  const now = new Date();
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signer.sign(id, now, body) };

  it('accepts a delivery signed with the secret and returns the payload', () => {
    expect(verifyWebhook({ secret, rawBody: body, headers })).toEqual({ type: 'activation.updated', data: { id: 'a1' } });
    expect(verifyWebhook({ secret, rawBody: Buffer.from(body), headers: new Headers(headers) })).toEqual({ type: 'activation.updated', data: { id: 'a1' } });
  });

  it('rejects a changed body, another secret, a stale timestamp and missing headers', () => {
    expect(() => verifyWebhook({ secret, rawBody: body.replace('a1', 'a2'), headers })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ secret: 'whsec_' + Buffer.alloc(32, 7).toString('base64'), rawBody: body, headers })).toThrow(WebhookVerificationError);
    const old = new Date(now.getTime() - 10 * 60_000);
    const stale = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(old.getTime() / 1000)), 'webhook-signature': signer.sign(id, old, body) };
    expect(() => verifyWebhook({ secret, rawBody: body, headers: stale })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ secret, rawBody: body, headers: { 'webhook-signature': headers['webhook-signature'] } })).toThrow(WebhookVerificationError);
  });
});

describe('webhook verification: vendor scheme', () => {
  it('accepts the fixed vector (case-insensitive header name)', () => {
    expect(createHmac('sha256', secret).update(body).digest('base64')).toBe(vendorSignature);
    expect(verifyWebhook({ secret, rawBody: body, headers: { 'Webhook-Signature': vendorSignature }, scheme: 'vendor' })).toEqual({ type: 'activation.updated', data: { id: 'a1' } });
  });

  it('rejects a wrong, truncated or missing signature and a changed body', () => {
    const wrong = Buffer.from(vendorSignature, 'base64');
    wrong[0] = (wrong[0] ?? 0) ^ 1;
    expect(() => verifyWebhook({ secret, rawBody: body, headers: { 'webhook-signature': wrong.toString('base64') }, scheme: 'vendor' })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ secret, rawBody: body, headers: { 'webhook-signature': vendorSignature.slice(0, 20) }, scheme: 'vendor' })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ secret, rawBody: body, headers: {}, scheme: 'vendor' })).toThrow(WebhookVerificationError);
    // The former key (the secret's decoded bytes) is not the vendor's.
    const decodedKey = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(body).digest('base64');
    expect(() => verifyWebhook({ secret, rawBody: body, headers: { 'webhook-signature': decodedKey }, scheme: 'vendor' })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ secret, rawBody: body + ' ', headers: { 'webhook-signature': vendorSignature }, scheme: 'vendor' })).toThrow(WebhookVerificationError);
  });
});
