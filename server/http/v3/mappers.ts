import { createHash } from 'node:crypto';
import type { components } from '../../../generated/schema.js';
import { activationExpiry } from '../../domain/activation-tokens.js';
import { Permission } from '../../domain/accounts.js';
import type { Activation, ActivationDetails, LicenseKeyCredentials } from '../../domain/devices.js';
import type { WebhookDelivery, WebhookSubscription } from '../../domain/ports.js';
import { meterAttributesOf, type MeterAttributeView } from '../../domain/meter-attributes.js';
import type { Trial } from '../../domain/trials.js';

export type V3Activation = components['schemas']['V3Activation'];
export type V3MeterAttributeUses = components['schemas']['V3MeterAttributeUses'];
export type V3TrialActivation = components['schemas']['V3TrialActivation'];
type CreateActivationBody = components['schemas']['V3CreateActivationRequest'];
type UpdateActivationBody = components['schemas']['V3UpdateActivationRequest'];

const NUMERIC_ID = /^[0-9]{1,16}$/;

/** The number a v3 id (a decimal string) names; null when the string cannot be an id (it then names nothing). */
export function idOf(wire: string): number | null {
  return NUMERIC_ID.test(wire) ? Number(wire) : null;
}

/** An id a request may leave out: absent or "" is not given (undefined). */
export function optionalIdOf(wire: string | undefined): number | null | undefined {
  return wire === undefined || wire === '' ? undefined : idOf(wire);
}

/** The product a client-side request names, and (unless "") its account: ids, null where a string names none. */
export function productOf(body: Pick<CreateActivationBody, 'productId' | 'accountId'>): { productId: number | null; accountId: number | null | undefined } {
  return { productId: idOf(body.productId), accountId: optionalIdOf(body.accountId) };
}

/** The license a create or update request names: product id, key and (unless "") account id. */
export function credentialsOf(body: Pick<CreateActivationBody, 'productId' | 'key' | 'accountId'>): LicenseKeyCredentials {
  return { ...productOf(body), key: body.key };
}

/** The machine details a create or update request (or a trial activation request) reports; a lease duration of -1 or 0 means no lease end. */
export function activationDetailsOf(body: Partial<CreateActivationBody> | Partial<UpdateActivationBody>, ipAddress: string | undefined): ActivationDetails {
  return {
    os: body.os,
    osVersion: body.osVersion,
    hostname: body.hostname,
    vmName: body.vmName,
    container: body.container,
    userHash: body.userHash,
    releaseVersion: body.releaseVersion,
    releaseChannel: body.releaseChannel,
    releasePlatform: body.releasePlatform,
    releasePublishedAt: body.releasePublishedAt === undefined ? undefined : new Date(body.releasePublishedAt),
    userId: body.userId,
    deviceId: body.deviceId,
    ipAddress,
    leaseDuration: body.leaseDuration === undefined ? undefined : body.leaseDuration > 0 ? body.leaseDuration : null,
    metadata: body.metadata?.map((m) => ({ key: m.key, value: m.value })),
  };
}

/** The request field (under `body.`) each domain input field is sent as, for validation messages. */
const V3_FIELD_OF: Record<string, string> = {
  amount: 'increment',
  changes: 'meterAttributes',
  url: 'url',
};

/** The v3 request field a domain error's `details.field` names, or undefined when it names none. */
export function v3FieldOf(domainField: unknown): string | undefined {
  return typeof domainField === 'string' ? (V3_FIELD_OF[domainField] ?? domainField) : undefined;
}

/** The Web API v3 scope of each permission: what `GET /v3/accounts/me` lists and what routes require. */
const V3_SCOPE_OF: Record<Permission, string> = {
  [Permission.readActivations]: 'activation:read',
  [Permission.writeActivations]: 'activation:write',
  [Permission.readLicenses]: 'license:read',
  [Permission.readWebhooks]: 'webhook:read',
  [Permission.writeWebhooks]: 'webhook:write',
  [Permission.readAccount]: 'account:read',
};

export function toV3Scopes(permissions: readonly Permission[]): string[] {
  return permissions.map((p) => V3_SCOPE_OF[p]);
}

function iso(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}

/** A stable id for an activation's metadata entry (the pair activation + key is unique). */
function metadataId(activationId: string, key: string): string {
  return createHash('sha256').update(`${activationId}\u0000${key}`).digest('hex').slice(0, 32);
}

/** Where a machine was: its IP address (no geo-location is looked up). */
function locationOf(ipAddress: string | null | undefined): V3Activation['location'] {
  return { ipAddress: ipAddress ?? null, countryCode: null, countryName: null, regionCode: null, regionName: null, city: null, zipCode: null, timeZone: null, latitude: null, longitude: null };
}

/** An activation's (or trial activation's) metadata entries, each with its stable id. */
function metadataOf(ownerId: string, updatedAt: string, metadata: ReadonlyArray<{ key: string; value: string }>): V3Activation['metadata'] {
  return metadata.map((m) => ({ id: metadataId(ownerId, m.key), createdAt: updatedAt, updatedAt, key: m.key, value: m.value }));
}

/** The full v3 activation object (as in the `activation.updated` webhook payload). */
export function toV3Activation({ device, license }: Activation, now: Date): V3Activation {
  const updatedAt = device.updatedAt.toISOString();
  return {
    id: device.activationId,
    createdAt: device.createdAt.toISOString(),
    updatedAt,
    os: device.os ?? null,
    osVersion: device.osVersion ?? null,
    hostname: device.hostname ?? null,
    location: locationOf(device.ipAddress),
    vmName: device.vmName ?? null,
    container: device.container ?? null,
    appVersion: device.appVersion ?? null,
    releaseVersion: device.releaseVersion ?? null,
    releaseChannel: device.releaseChannel ?? null,
    releasePlatform: device.releasePlatform ?? null,
    offline: false,
    productId: String(device.productId),
    expiresAt: iso(activationExpiry({ ...device, leaseExpiresAt: device.leaseExpiresAt ?? null }, license)),
    licenseId: String(device.licenseId),
    lastSyncedAt: iso(device.lastSyncedAt),
    meterAttributes: meterAttributesOf(license, device.id, now).map((a) => ({ name: a.name, uses: a.uses })),
    leaseExpiresAt: iso(device.leaseExpiresAt),
    organization: null,
    userId: device.userId ?? null,
    user: null,
    metadata: metadataOf(device.activationId, updatedAt, device.metadata),
  };
}

/** The v3 trial activation object of a trial: its license's id, dates and the machine's report (null fields for a trial_key trial). */
export function toV3TrialActivation({ license, machine }: Trial): V3TrialActivation {
  const updatedAt = license.updatedAt.toISOString();
  const id = String(license.id);
  return {
    id,
    createdAt: license.createdAt.toISOString(),
    updatedAt,
    os: machine?.os ?? null,
    osVersion: machine?.osVersion ?? null,
    hostname: machine?.hostname ?? null,
    location: locationOf(machine?.ipAddress),
    vmName: machine?.vmName ?? null,
    container: machine?.container ?? null,
    appVersion: null,
    releaseVersion: machine?.releaseVersion ?? null,
    releaseChannel: machine?.releaseChannel ?? null,
    releasePlatform: machine?.releasePlatform ?? null,
    offline: false,
    productId: String(license.productId),
    expiresAt: (license.validUntil ?? license.createdAt).toISOString(),
    metadata: metadataOf(id, updatedAt, machine?.metadata ?? []),
  };
}

/** Allowed uses as the Web API v3 shows them: -1 for unlimited (a meter without a ceiling). */
export function v3AllowedUses(ceiling: number | null): number {
  return ceiling ?? -1;
}

/**
 * The answer to a meter attribute increment. `view` may also be an answer stored for an
 * Idempotency-Key before unlimited was null in the domain (it then held -1, shown as is).
 */
export function toV3MeterAttributeUses(view: MeterAttributeView): V3MeterAttributeUses {
  return { name: view.name, uses: view.uses, licenseAllowedUses: v3AllowedUses(view.allowedUses), licenseTotalUses: view.totalUses, licenseGrossUses: view.grossUses };
}

/** A webhook subscription (with its secret only when just created or rotated). */
export function toV3Subscription(s: WebhookSubscription, secret?: string): components['schemas']['V3WebhookSubscription'] {
  return {
    id: s.id,
    url: s.url,
    events: s.events as components['schemas']['V3WebhookEventType'][],
    active: s.active,
    signatureScheme: s.signatureScheme,
    healthy: s.healthy,
    ...(secret !== undefined ? { secret } : {}),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

export function toV3Delivery(d: WebhookDelivery): components['schemas']['V3WebhookDelivery'] {
  return {
    id: d.id,
    eventId: d.eventId,
    event: d.eventType as components['schemas']['V3WebhookEventType'],
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.status === 'pending' && d.nextAttemptAt ? d.nextAttemptAt.toISOString() : null,
    createdAt: d.createdAt.toISOString(),
    completedAt: d.completedAt ? d.completedAt.toISOString() : null,
    attempts: d.attempts.map((a) => ({ at: new Date(a.at).toISOString(), statusCode: a.statusCode, latencyMs: a.latencyMs, error: a.error })),
  };
}
