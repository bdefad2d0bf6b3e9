import type { ActivationTokenSigner } from '../../domain/activation-tokens.js';
import { activationExpiry } from '../../domain/activation-tokens.js';
import { meterAttributesOf } from '../../domain/meter-attributes.js';
import type { Device, License } from '../../domain/types.js';
import { v3AllowedUses } from './mappers.js';

/** Seconds a client's clock may be off before it distrusts the token (`aco`). */
export const ALLOWED_CLOCK_OFFSET_SECONDS = 0;

/** The claims of a Web API v3 activation token (the JWT `POST` and `PATCH /v3/activations` answer). */
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
  /** License meter attributes (allowed uses -1 when unlimited). */
  lma: Array<{ name: string; allowedUses: number; totalUses: number; grossUses: number }>;
  /** This activation's meter attributes. */
  ama: Array<{ name: string; uses: number }>;
  /** Activation metadata. */
  amd: Array<{ key: string; value: string }>;
  /** License metadata. */
  lmd: Array<{ key: string; value: string }>;
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
    lma: attributes.map((a) => ({ name: a.name, allowedUses: v3AllowedUses(a.allowedUses), totalUses: a.totalUses, grossUses: a.grossUses })),
    ama: attributes.map((a) => ({ name: a.name, uses: a.uses })),
    amd: device.metadata.map((m) => ({ key: m.key, value: m.value })),
    lmd: metadataList(license.metadata),
  };
}

/** The activation token of an activation, signed with its license account's key. */
export function activationToken(signer: Pick<ActivationTokenSigner, 'sign'>, { device, license }: { device: Device; license: License }): Promise<string> {
  return signer.sign(license.accountId, (now) => ({ ...activationTokenClaims(device, license, now) }));
}
