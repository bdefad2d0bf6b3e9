import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import type { SecretBox } from './secrets.js';
import type { StoredSigningKey } from './ports.js';

const generateRsaKeyPair = promisify(generateKeyPair);

/**
 * Per-account RSA key pairs (2048 bits). One pair signs both the License API's response signatures
 * and the Web API v3's activation tokens (RS256, `kid` = the JWK thumbprint).
 */
export async function newSigningKey(box: SecretBox, now: Date): Promise<StoredSigningKey> {
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return {
    kid,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' },
    sealedPrivateKeyPem: box.seal(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    active: true,
    createdAt: now,
  };
}

export interface UnsealedSigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  publicJwk: Record<string, unknown>;
}

export function unsealSigningKey(box: SecretBox, stored: StoredSigningKey): UnsealedSigningKey {
  return {
    kid: stored.kid,
    privateKey: createPrivateKey(box.open(stored.sealedPrivateKeyPem)),
    publicKeyPem: stored.publicKeyPem,
    publicJwk: stored.publicJwk,
  };
}
