import { SignJWT } from 'jose';
import type { AccountService } from './accounts.js';
import type { Clock } from './clock.js';
import type { Device, License } from './types.js';

/** When an activation stops being valid: the earlier of its lease end and its license's expiry, or null. */
export function activationExpiry(device: Device, license: License): Date | null {
  const dates = [device.leaseExpiresAt, license.validUntil].filter((d): d is Date => d !== null);
  if (dates.length === 0) return null;
  return new Date(Math.min(...dates.map((d) => d.getTime())));
}

/**
 * Who a token is from, for whom and about what (the JWT registered claims `iss`, `aud`, `sub`):
 * a verifier that checks `iss` and `aud` accepts only tokens of one account for one product.
 */
export interface TokenParties {
  issuer: string;
  audience: string;
  subject: string;
}

/**
 * Signs activation tokens: RS256 JWTs signed with the license account's active key (`kid` in the
 * header), naming their issuer, audience and subject, and stamped with the time of issue (`iat`).
 * What else the token says (its claims) is the dialect's wire format: the caller builds them from
 * the state as of the issue time it is given.
 */
export class ActivationTokenSigner {
  constructor(
    private readonly accounts: Pick<AccountService, 'signingKey'>,
    private readonly clock: Clock,
  ) {}

  async sign(accountId: number, parties: TokenParties, claimsAt: (now: Date) => Record<string, unknown>): Promise<string> {
    const now = this.clock.now();
    const { kid, privateKey } = await this.accounts.signingKey(accountId);
    return new SignJWT(claimsAt(now))
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(parties.issuer)
      .setAudience(parties.audience)
      .setSubject(parties.subject)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .sign(privateKey);
  }
}
