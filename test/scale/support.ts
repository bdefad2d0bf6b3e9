import type { LicenseFeatureSettings } from '../../server/domain/license-features.js';
import { buildLicense, buildProduct, consumptionFeature } from '../support/fixtures.js';
import type { TestServer } from '../support/server.js';

// Answers are JSON whose shape each test asserts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The license as the Management API v1 answers `GET /api/v1/licenses/{id}/` (asserting the 200). */
export async function managementLicense(t: Pick<TestServer, 'baseUrl' | 'credentials'>, licenseId: number): Promise<Json> {
  const res = await fetch(`${t.baseUrl}/api/v1/licenses/${licenseId}/`, { headers: { authorization: `Api-Key ${t.credentials.managementApiKey}` } });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`GET license ${licenseId}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Each feature's `total_consumptions` in a Management API license, by feature code. */
export function featureTotals(license: Json): Record<string, number> {
  return Object.fromEntries(license.product_features.map((f: Json) => [f.product_feature.code, f.total_consumptions]));
}

/** How many answers had each outcome: `"<status>"` for a success, `"<status> <error code>"` otherwise. */
export function tally(responses: ReadonlyArray<{ status: number; body: Json }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of responses) {
    const key = r.status < 300 ? String(r.status) : `${r.status} ${r.body?.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** `f-001` … `f-<count>`: the codes of a product with many features. */
export function featureCodes(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `f-${String(i + 1).padStart(3, '0')}`);
}

/**
 * A consumption license whose product has one consumption feature (product limit 1,000) per code, all
 * on the license (`settings` overrides a feature's settings on it), activated on device `hw-1`; with
 * the License API ids that name it.
 */
export async function licenseWithFeatures(t: Pick<TestServer, 'services' | 'account'>, codes: readonly string[], settings: Record<string, Omit<LicenseFeatureSettings, 'code'>> = {}) {
  const product = await buildProduct(t.services, t.account.id, { features: codes.map((code) => consumptionFeature(code, 1_000)) });
  const features = codes.map((code) => ({ code, ...settings[code] }));
  const { license } = await buildLicense(t.services, t.account.id, { productId: product.id, type: 'consumption', maxActivations: 5, features }, ['hw-1']);
  return { license, ids: { product: product.shortCode, license_key: license.key!, hardware_id: 'hw-1' } };
}
