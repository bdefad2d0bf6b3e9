import { randomInt, randomUUID, randomBytes } from 'node:crypto';

/**
 * Public numeric ids of the License and Management APIs: random, 16 digits, never sequential,
 * always safe JavaScript integers (below 2^53). The v3 dialect shows the same ids as decimal strings.
 */
export function newNumericId(): number {
  // 1e15 .. 1e15 + 2^32 * 1e6 - 1 (about 5.29e15): always 16 digits, below Number.MAX_SAFE_INTEGER (~9.007e15).
  return 1_000_000_000_000_000 + randomInt(0, 2 ** 32) * 1_000_000 + randomInt(0, 1_000_000);
}

/** The unguessable v3 activation id (it alone authenticates meter increments). */
export function newActivationId(): string {
  return randomUUID();
}

const KEY_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A license key: four groups of four uppercase letters and digits (no look-alikes), ~80 bits. */
export function newLicenseKey(): string {
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => KEY_ALPHABET[b % KEY_ALPHABET.length]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/** A credential: a prefix naming its kind, then 32 random bytes in base64url. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}
