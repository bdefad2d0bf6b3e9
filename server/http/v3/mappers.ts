import { createHash } from 'node:crypto';
import type { components } from '../../../generated/schema.js';
import { activationExpiry } from '../../domain/activation-tokens.js';
import type { Activation } from '../../domain/activations.js';
import type { WebhookDelivery, WebhookSubscription } from '../../domain/ports.js';
import { meterAttributesOf, type MeterAttributeView } from '../../domain/meter-attributes.js';

export type V3Activation = components['schemas']['V3Activation'];
export type V3MeterAttributeUses = components['schemas']['V3MeterAttributeUses'];

function iso(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}

/** A stable id for an activation's metadata entry (the pair activation + key is unique). */
function metadataId(activationId: string, key: string): string {
  return createHash('sha256').update(`${activationId}\u0000${key}`).digest('hex').slice(0, 32);
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
    location: {
      ipAddress: device.ipAddress ?? null,
      countryCode: null,
      countryName: null,
      regionCode: null,
      regionName: null,
      city: null,
      zipCode: null,
      timeZone: null,
      latitude: null,
      longitude: null,
    },
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
    metadata: device.metadata.map((m) => ({ id: metadataId(device.activationId, m.key), createdAt: updatedAt, updatedAt, key: m.key, value: m.value })),
  };
}

export function toV3MeterAttributeUses(view: MeterAttributeView): V3MeterAttributeUses {
  return { name: view.name, uses: view.uses, licenseAllowedUses: view.allowedUses, licenseTotalUses: view.totalUses, licenseGrossUses: view.grossUses };
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
