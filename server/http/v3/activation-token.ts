import type { ActivationTokenSigner, TokenParties } from '../../domain/activation-tokens.js';
import { activationExpiry } from '../../domain/activation-tokens.js';
import { meterAttributesOf } from '../../domain/meter-attributes.js';
import type { Trial } from '../../domain/trials.js';
import type { Device, License } from '../../domain/types.js';
import type { PublicUrls } from '../public-url.js';
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
  /** The same expiry as the JWT registered claim, so standard verifiers refuse an expired token. */
  exp?: number;
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
    ...(expiry ? { eat: Math.floor(expiry.getTime() / 1000), exp: Math.floor(expiry.getTime() / 1000) } : {}),
    aco: ALLOWED_CLOCK_OFFSET_SECONDS,
    lma: attributes.map((a) => ({ name: a.name, allowedUses: v3AllowedUses(a.allowedUses), totalUses: a.totalUses, grossUses: a.grossUses })),
    ama: attributes.map((a) => ({ name: a.name, uses: a.uses })),
    amd: device.metadata.map((m) => ({ key: m.key, value: m.value })),
    lmd: metadataList(license.metadata),
  };
}

/**
 * The issuer URL of an account's activation tokens: `<public base URL>/v3/accounts/<accountId>`,
 * so the account's key set is at the issuer followed by `/jwks`.
 */
export function accountIssuer(issuerBase: string, accountId: number): string {
  return `${issuerBase}/v3/accounts/${accountId}`;
}

/** Where activation token issuers start (PUBLIC_BASE_URL, or a fixed fallback: never a request's Host). */
export type TokenIssuers = Pick<PublicUrls, 'issuerBase'>;

/**
 * The activation token of an activation, signed with its license account's key: issued by the
 * account (`iss`), for the product (`aud` = product id), about the activation (`sub` = activation id).
 */
export function activationToken(signer: Pick<ActivationTokenSigner, 'sign'>, issuers: TokenIssuers, { device, license }: { device: Device; license: License }): Promise<string> {
  return signer.sign(license.accountId, partiesOf(issuers, license, device.activationId), (now) => ({ ...activationTokenClaims(device, license, now) }));
}

/** Issued by the license's account (`iss`), for its product (`aud`), about `subject`. */
function partiesOf(issuers: TokenIssuers, license: License, subject: string): TokenParties {
  return { issuer: accountIssuer(issuers.issuerBase(), license.accountId), audience: String(license.productId), subject };
}

/** The claims of a trial activation token (`POST /v3/trial-activations`): those of an activation token a trial has. */
export type TrialActivationTokenClaims = Pick<ActivationTokenClaims, 'aid' | 'pid' | 'fp' | 'eat' | 'exp' | 'aco' | 'amd'>;

export function trialActivationTokenClaims({ license, hardwareId, machine }: Trial): TrialActivationTokenClaims {
  const expiry = license.validUntil ? Math.floor(license.validUntil.getTime() / 1000) : undefined;
  return {
    aid: String(license.id),
    pid: String(license.productId),
    fp: hardwareId,
    ...(expiry !== undefined ? { eat: expiry, exp: expiry } : {}),
    aco: ALLOWED_CLOCK_OFFSET_SECONDS,
    amd: (machine?.metadata ?? []).map((m) => ({ key: m.key, value: m.value })),
  };
}

/** The activation token of a trial, signed with its account's key (`sub` = trial activation id). */
export function trialActivationToken(signer: Pick<ActivationTokenSigner, 'sign'>, issuers: TokenIssuers, trial: Trial): Promise<string> {
  return signer.sign(trial.license.accountId, partiesOf(issuers, trial.license, String(trial.license.id)), () => ({ ...trialActivationTokenClaims(trial) }));
}
