import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/** License user passwords: scrypt with a random salt, `scrypt$<salt>$<hash>` (base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(actual, expected);
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A generated initial password: 16 characters without look-alikes (~92 bits), shown once. */
export function newPassword(): string {
  const chars: string[] = [];
  // Rejection sampling keeps every character equally likely (256 is not a multiple of the alphabet).
  const limit = 256 - (256 % PASSWORD_ALPHABET.length);
  while (chars.length < 16) {
    for (const b of randomBytes(32)) {
      if (b < limit && chars.length < 16) chars.push(PASSWORD_ALPHABET[b % PASSWORD_ALPHABET.length]!);
    }
  }
  return chars.join('');
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks `password` against `stored`, or against a fixed hash when there is no stored one, so that
 * an unknown user takes as long to refuse as a wrong password (no user enumeration by timing).
 */
export async function verifyPasswordOrNothing(password: string, stored: string | null): Promise<boolean> {
  dummyHash ??= hashPassword(newPassword());
  const ok = await verifyPassword(password, stored ?? (await dummyHash));
  return stored !== null && ok;
}
