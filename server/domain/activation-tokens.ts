import { SignJWT } from 'jose';
import type { AccountService } from './accounts.js';
import type { Clock } from './clock.js';
import { meterAttributesOf } from './meter-attributes.js';
import type { Device, License } from './types.js';

/** Seconds a client's clock may be off before it distrusts the token (`aco`). */
export const ALLOWED_CLOCK_OFFSET_SECONDS = 0;

/** The claims of an activation token, in that vendor's names. */
export interface ActivationTokenClaims {
  /** Activation id. */
  aid: string;
  /** License id (decimal string). */
  lid: string;
  /** Product id (decimal string). */
  pid: string;
  key: string | null;
  /** Machine fingerprint. */
  fp: string;
  /** Expiry (seconds since epoch): the earlier of the lease end and the license expiry; absent when unlimited. */
  eat?: number;
  /** Allowed clock offset in seconds. */
  aco: number;
  /** License meter attributes. */
  lma: Array<{ name: string; allowedUses: number; totalUses: number; grossUses: number }>;
  /** This activation's meter attributes. */
  ama: Array<{ name: string; uses: number }>;
  /** Activation metadata. */
  amd: Array<{ key: string; value: string }>;
  /** License metadata. */
  lmd: Array<{ key: string; value: string }>;
}

/** When an activation stops being valid: the earlier of its lease end and its license's expiry, or null. */
export function activationExpiry(device: Device, license: License): Date | null {
  const dates = [device.leaseExpiresAt, license.validUntil].filter((d): d is Date => d !== null);
  if (dates.length === 0) return null;
  return new Date(Math.min(...dates.map((d) => d.getTime())));
}

function metadataList(metadata: Record<string, unknown>): Array<{ key: string; value: string }> {
  return Object.entries(metadata).map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) }));
}

export function activationTokenClaims(device: Device, license: License, now: Date): ActivationTokenClaims {
  const attributes = meterAttributesOf(license, device.id, now);
  const expiry = activationExpiry(device, license);
  return {
    aid: device.activationId,
    lid: String(license.id),
    pid: String(license.productId),
    key: license.key,
    fp: device.hardwareId,
    ...(expiry ? { eat: Math.floor(expiry.getTime() / 1000) } : {}),
    aco: ALLOWED_CLOCK_OFFSET_SECONDS,
    lma: attributes.map((a) => ({ name: a.name, allowedUses: a.allowedUses ?? -1, totalUses: a.totalUses, grossUses: a.grossUses })),
    ama: attributes.map((a) => ({ name: a.name, uses: a.uses })),
    amd: device.metadata.map((m) => ({ key: m.key, value: m.value })),
    lmd: metadataList(license.metadata),
  };
}

/** Issues activation tokens: RS256 JWTs signed with the license account's key (`kid` in the header). */
export class ActivationTokenIssuer {
  constructor(
    private readonly accounts: Pick<AccountService, 'signingKey'>,
    private readonly clock: Clock,
  ) {}

  async issue(device: Device, license: License): Promise<string> {
    const now = this.clock.now();
    const { kid, privateKey } = await this.accounts.signingKey(license.accountId);
    return new SignJWT({ ...activationTokenClaims(device, license, now) })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .sign(privateKey);
  }
}
