import { expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../server/domain/clock.js';
import type { NewLicenseInput } from '../../server/domain/licenses.js';
import type { TestServer } from '../support/server.js';
import { V4Client, type V4Response } from './signed-fetch.js';

/** A signed client for the test server's own account. */
export async function clientFor(t: TestServer, clock?: Clock): Promise<V4Client> {
  const key = await t.services.accounts.signingKey(t.account.id);
  return new V4Client(t.baseUrl, t.credentials, key.publicKeyPem, clock);
}

/** A product with an activation feature `export` and a consumption feature `api-calls` (max 100). */
export async function productFor(t: TestServer, accountId = t.account.id) {
  const product = await t.services.products.createProduct(accountId, { name: 'Demo product', shortCode: `demo-${randomBytes(4).toString('hex')}` });
  await t.services.products.addFeature(accountId, product.id, { code: 'export', name: 'Export', featureType: 'activation' });
  await t.services.products.addFeature(accountId, product.id, { code: 'api-calls', name: 'API calls', featureType: 'consumption', maxConsumption: 100 });
  return product;
}

/** A license on a fresh product; `activate` hardware ids are activated through the domain. */
export async function licenseFor(t: TestServer, input: Partial<NewLicenseInput> = {}, activate: string[] = ['hw-1']) {
  const product = await productFor(t);
  const license = await t.services.licenses.createLicense(t.account.id, { productId: product.id, type: 'consumption', maxActivations: 5, consumption: { max: 100 }, ...input });
  for (const hardwareId of activate) await t.services.devices.activate(t.account.id, { license: { licenseId: license.id }, hardwareId });
  return { product, license, ids: { product: product.shortCode, license_key: license.key!, hardware_id: activate[0] ?? 'hw-1' } };
}

/** Asserts a License API error: the dialect body `{status, code}` and the HTTP status. */
export function expectError(res: V4Response, code: string, status = 400): void {
  expect(res.body).toMatchObject({ status, code });
  expect(res.status).toBe(status);
}
