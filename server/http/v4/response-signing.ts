import { constants, sign, type KeyObject } from 'node:crypto';
import type { Response } from 'express';

/** base64 RSA-SHA256 (PKCS#1 v1.5) signature of a text's UTF-8 bytes. */
export function signText(privateKey: KeyObject, text: string): string {
  return sign('sha256', Buffer.from(text, 'utf8'), { key: privateKey, padding: constants.RSA_PKCS1_PADDING }).toString('base64');
}

/** What `license_signature` signs: `<hardware_id>#<license_key or username>#<validity ISO 8601 or empty>`, lower-cased. */
export function licenseSignatureInput(hardwareId: string, identity: string, validUntil: Date | null): string {
  return `${hardwareId}#${identity}#${validUntil ? validUntil.toISOString() : ''}`.toLowerCase();
}

/**
 * Sends a successful License API response with its `LicenseSignature` header: the signature covers
 * `JSON.stringify(body)`, which is exactly what `res.json` writes (no json replacer or spaces are set
 * on the app), so the response validator still sees the object and the client gets the signed bytes.
 */
export function sendSigned(res: Response, privateKey: KeyObject, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.setHeader('LicenseSignature', signText(privateKey, text));
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(200).json(body);
}
