import { randomBytes, randomUUID } from 'node:crypto';
import type { Services } from '../../../server/services.js';
import { fingerprint } from '../../v3/support.js';

/**
 * A consumption license for the License API: product with a consumption feature `api-calls`
 * (`max`), license with the same feature limit, and device `hw-1` activated on it.
 */
export async function seedV4License(services: Services, accountId: number, max: number) {
  const product = await services.products.createProduct(accountId, { name: 'Load product', shortCode: `load-${randomBytes(4).toString('hex')}` });
  await services.products.addFeature(accountId, product.id, { code: 'api-calls', name: 'API calls', featureType: 'consumption', maxConsumption: max });
  const license = await services.licenses.createLicense(accountId, {
    productId: product.id,
    type: 'consumption',
    maxActivations: 5,
    consumption: { max },
    features: [{ code: 'api-calls', max }],
  });
  await services.devices.activate(accountId, { license: { licenseId: license.id }, hardwareId: 'hw-1' });
  return {
    license,
    body: (extra: Record<string, unknown> = {}) => ({ license_key: license.key!, product: product.shortCode, hardware_id: 'hw-1', feature: 'api-calls', consumptions: 1, ...extra }),
  };
}

/** A Web API v3 license with meter attribute `api-calls` (max 150) and one activation. */
export async function seedV3Activation(services: Services, accountId: number) {
  const product = await services.products.createProduct(accountId, { name: 'App', shortCode: `app-${randomBytes(3).toString('hex')}` });
  await services.products.addFeature(accountId, product.id, { code: 'api-calls', name: 'API calls', featureType: 'consumption', maxConsumption: 150 });
  const license = await services.licenses.createLicense(accountId, { productId: product.id, type: 'perpetual', maxActivations: 5, features: [{ code: 'api-calls', max: 150 }] });
  const { device } = await services.devices.activateByKey(
    { accountId: null },
    { productId: product.id, key: license.key!, fingerprint: fingerprint(randomUUID()), details: { os: 'linux', hostname: 'h1' } },
  );
  return { license, activationId: device.activationId };
}

/** The counters of a license a request could change: consumption, every feature's total and gross, seats. */
export async function countersOf(services: Services, accountId: number, licenseId: number) {
  const l = await services.licenses.getLicense(accountId, licenseId);
  return {
    consumption: { total: l.consumption.total, gross: l.consumption.gross },
    features: l.features.map((f) => ({ code: f.code, total: f.total, gross: f.gross, uses: f.uses })),
    timesActivated: l.timesActivated,
    seats: l.seats.length,
  };
}
