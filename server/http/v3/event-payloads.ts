import type { components } from '../../../generated/schema.js';
import type { BuiltEvent, EventIntent, EventPayloads, EventState } from '../../domain/events.js';
import type { MeterState } from '../../domain/meter.js';
import { isMeterAttribute } from '../../domain/meter-attributes.js';
import type { License } from '../../domain/types.js';
import { toV3Activation, v3AllowedUses } from './mappers.js';

type Schemas = components['schemas'];

function meterUses(name: string | null, meter: MeterState): Schemas['V3WebhookMeterUses'] {
  return { name, allowedUses: v3AllowedUses(meter.ceiling), totalUses: meter.total, grossUses: meter.gross };
}

export function toWebhookLicense(license: License): Schemas['V3WebhookLicense'] {
  return {
    id: String(license.id),
    key: license.key,
    productId: String(license.productId),
    type: license.type,
    enabled: license.enabled,
    validUntil: license.validUntil ? license.validUntil.toISOString() : null,
    maxActivations: license.maxActivations,
    activations: license.timesActivated,
    consumption: meterUses(null, license.consumption),
    meterAttributes: license.features.filter(isMeterAttribute).map((f) => meterUses(f.code, f)),
    metadata: license.metadata,
    updatedAt: license.updatedAt.toISOString(),
  };
}

/** The meter a consumption's intent is about: the license-level consumption, or the feature it names (undefined when gone). */
function meterOfIntent(license: License, intent: { scope: 'license' | 'feature'; featureCode: string | null }): MeterState | undefined {
  return intent.scope === 'license' ? license.consumption : license.features.find((f) => f.code === intent.featureCode);
}

function licenseSubject(licenseId: number): string {
  return `license:${licenseId}`;
}

/**
 * Webhook payloads (`data`) in the Web API v3 shapes of the spec's `webhooks:` section: the full
 * activation object (as `GET /v3/activations/{id}` answers it) for activation events, and the license,
 * consumption and limit objects. The domain records events through the EventPayloads port; the
 * composition root (server/services.ts) hands it this builder, so webhook delivery (server/webhooks/)
 * only sends what is stored and depends on no dialect.
 */
export const v3EventPayloads: EventPayloads = {
  build(intent: EventIntent, state: EventState): BuiltEvent[] {
    const { license, device, now } = state;
    if (!license) return [];
    switch (intent.type) {
      case 'activation.created':
      case 'activation.updated':
      case 'activation.deleted': {
        if (!device) return [];
        return [{ idSuffix: '', type: intent.type, subject: device.activationId, data: toV3Activation({ device, license }, now) }];
      }
      case 'license.updated':
        return [{ idSuffix: '', type: intent.type, subject: licenseSubject(license.id), data: toWebhookLicense(license) }];
      case 'consumption.added': {
        const meter = meterOfIntent(license, intent);
        if (!meter) return [];
        const seat = intent.seat;
        // Consumptions record the seat by its activation id (entries written before by hardware id name none).
        const activationId = seat !== null && 'activationId' in seat ? seat.activationId : null;
        const consumption: Schemas['V3WebhookConsumption'] = {
          licenseId: String(license.id),
          activationId,
          meterAttribute: intent.featureCode,
          amount: intent.amount,
          totalUses: meter.total,
          allowedUses: v3AllowedUses(meter.ceiling),
          grossUses: meter.gross,
        };
        const events: BuiltEvent[] = [{ idSuffix: '', type: 'consumption.added', subject: licenseSubject(license.id), data: consumption }];
        // The consumption crossed the ceiling: the total before it was below, after it is at or above.
        if (intent.featureCode !== null && meter.ceiling !== null && intent.amount > 0 && meter.total >= meter.ceiling && meter.total - intent.amount < meter.ceiling) {
          const limit: Schemas['V3WebhookMeterLimit'] = { licenseId: String(license.id), activationId, name: intent.featureCode, allowedUses: meter.ceiling, totalUses: meter.total };
          events.push({ idSuffix: 'limit', type: 'meter-attribute.limit-reached', subject: licenseSubject(license.id), data: limit });
        }
        return events;
      }
      case 'consumption.threshold-reached': {
        const meter = meterOfIntent(license, intent);
        if (!meter) return [];
        const threshold: Schemas['V3WebhookConsumptionThreshold'] = {
          licenseId: String(license.id),
          meterAttribute: intent.featureCode,
          thresholdPercent: intent.percent,
          thresholdUses: intent.thresholdUses,
          limit: intent.limit,
          totalUses: meter.total,
          period: intent.period,
          periodEndsAt: intent.periodEndsAt === null ? null : new Date(intent.periodEndsAt).toISOString(),
          at: state.at.toISOString(),
        };
        return [{ idSuffix: '', type: intent.type, subject: licenseSubject(license.id), data: threshold }];
      }
    }
  },
};
