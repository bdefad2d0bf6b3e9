import { randomUUID } from 'node:crypto';
import type { Services } from '../../../server/services.js';
import { buildLicense, buildProduct, buildV3Activation, consumptionFeature, fingerprint } from '../../support/fixtures.js';

/**
 * A consumption license for the License API: product with a consumption feature `api-calls`
 * (`max`), license with the same feature limit, and device `hw-1` activated on it.
 */
export async function seedV4License(services: Services, accountId: number, max: number) {
  const product = await buildProduct(services, accountId, { name: 'Load product', codePrefix: 'load', features: [consumptionFeature('api-calls', max, 'API calls')] });
  const { license } = await buildLicense(
    services,
    accountId,
    { productId: product.id, type: 'consumption', maxActivations: 5, consumption: { max }, features: [{ code: 'api-calls', max }] },
    ['hw-1'],
  );
  return {
    license,
    body: (extra: Record<string, unknown> = {}) => ({ license_key: license.key!, product: product.shortCode, hardware_id: 'hw-1', feature: 'api-calls', consumptions: 1, ...extra }),
  };
}

/** A Web API v3 license with meter attribute `api-calls` (max 150) and one activation. */
export async function seedV3Activation(services: Services, accountId: number) {
  const product = await buildProduct(services, accountId, { name: 'App', codePrefix: 'app', features: [consumptionFeature('api-calls', 150, 'API calls')] });
  const { license } = await buildLicense(services, accountId, { productId: product.id, type: 'perpetual', maxActivations: 5, features: [{ code: 'api-calls', max: 150 }] });
  const { device } = await buildV3Activation(services, { productId: product.id, key: license.key!, fingerprint: fingerprint(randomUUID()) });
  return { license, activationId: device.activationId };
}

/** The counters of a license a request could change: consumption, every feature's total and gross, seats. */
export async function countersOf(services: Services, accountId: number, licenseId: number) {
  const l = await services.licenses.getLicense(accountId, licenseId);
  return {
    consumption: { total: l.consumption.total, gross: l.consumption.gross },
    features: l.features.map((f) => ({ code: f.code, total: f.total, gross: f.gross, uses: f.uses })),
    timesActivated: l.timesActivated,
    seats: (await services.devices.listActivations(accountId, { licenseId }, 0, 10_000)).length,
  };
}
