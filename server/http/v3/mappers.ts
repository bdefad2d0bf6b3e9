import { createHash } from 'node:crypto';
import type { components } from '../../../generated/schema.js';
import { activationExpiry } from '../../domain/activation-tokens.js';
import { Permission } from '../../domain/accounts.js';
import type { Activation } from '../../domain/activations.js';
import { meterAttributesOf, type MeterAttributeView } from '../../domain/meter-attributes.js';

export type V3Activation = components['schemas']['V3Activation'];
export type V3MeterAttributeUses = components['schemas']['V3MeterAttributeUses'];

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
