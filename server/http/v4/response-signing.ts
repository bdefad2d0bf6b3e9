import { constants, sign, type KeyObject } from 'node:crypto';
import type { Response } from 'express';
import type { AccountService } from '../../domain/accounts.js';
import { accountOf } from './auth.js';

/**
 * base64 RSA-SHA256 (PKCS#1 v1.5) signature of a text's UTF-8 bytes. The signing runs on libuv's
 * thread pool (the callback form of `crypto.sign`): an RSA-2048 signature costs about 0.3 ms of CPU,
 * as much as the whole request stack, and would otherwise hold up the event loop for every response.
 */
export function signText(privateKey: KeyObject, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(text, 'utf8'), { key: privateKey, padding: constants.RSA_PKCS1_PADDING }, (err, signature) => {
      if (err) reject(err);
      else resolve(signature.toString('base64'));
    });
  });
}

/** What `license_signature` signs: `<hardware_id>#<license_key or username>#<validity ISO 8601 or empty>`, lower-cased. */
export function licenseSignatureInput(hardwareId: string, identity: string, validUntil: Date | null): string {
  return `${hardwareId}#${identity}#${validUntil ? validUntil.toISOString() : ''}`.toLowerCase();
}

/**
 * The license object with its two signatures, signed at once: `license_signature` over
 * `signatureInput` (see licenseSignatureInput) and `license_signature_v2` over `JSON.stringify` of the
 * object without both (what the vendor's SDK checks in a license file).
 */
export async function signLicense<T extends object>(privateKey: KeyObject, unsigned: T, signatureInput: string): Promise<T & { license_signature: string; license_signature_v2: string }> {
  const [licenseSignature, licenseSignatureV2] = await Promise.all([signText(privateKey, signatureInput), signText(privateKey, JSON.stringify(unsigned))]);
  return { ...unsigned, license_signature: licenseSignature, license_signature_v2: licenseSignatureV2 };
}

/**
 * Sends a successful License API response with its `LicenseSignature` header: the signature covers
 * `JSON.stringify(body)`, which is exactly what `res.json` writes (no json replacer or spaces are set
 * on the app), so the response validator still sees the object and the client gets the signed bytes.
 */
export async function sendSigned(res: Response, privateKey: KeyObject, body: unknown, headers: Record<string, string> = {}): Promise<void> {
  const text = JSON.stringify(body);
  res.setHeader('LicenseSignature', await signText(privateKey, text));
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(200).json(body);
}

/** Sends a successful response signed with the calling account's key (see sendSigned). */
export async function respondSigned(accounts: Pick<AccountService, 'signingKey'>, res: Response, body: unknown, headers: Record<string, string> = {}): Promise<void> {
  const key = await accounts.signingKey(accountOf(res).id);
  await sendSigned(res, key.privateKey, body, headers);
}
