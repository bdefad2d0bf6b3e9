/**
 * The one fixture builder of the tests (and of the benchmark's account): accounts, products,
 * licenses and devices, always created through the domain services, so fixtures obey the same rules
 * as the APIs (no raw inserts). Every helper takes the `Services` of a test server or test domain.
 */
import { randomBytes } from 'node:crypto';
import type { ActivationDetails } from '../../server/domain/devices.js';
import type { NewLicenseInput } from '../../server/domain/licenses.js';
import type { NewProductFeatureInput } from '../../server/domain/products.js';
import type { Device } from '../../server/domain/types.js';
import type { Services } from '../../server/services.js';

/** A short random hex suffix that keeps names and short codes unique within a database. */
export const uniqueSuffix = (bytes = 3): string => randomBytes(bytes).toString('hex');

/** A product feature of type `activation` (a switch, no counter). */
export function activationFeature(code: string, name = code): NewProductFeatureInput {
  return { code, name, featureType: 'activation' };
}

/** A product feature of type `consumption`; `maxConsumption` omitted means no product default. */
export function consumptionFeature(code: string, maxConsumption?: number, name = code, extra: Partial<NewProductFeatureInput> = {}): NewProductFeatureInput {
  return { code, name, featureType: 'consumption', ...(maxConsumption !== undefined ? { maxConsumption } : {}), ...extra };
}

/** The product most tests use: activation feature `export` and consumption feature `api-calls` (max 100). */
export const DEMO_FEATURES: readonly NewProductFeatureInput[] = [activationFeature('export', 'Export'), consumptionFeature('api-calls', 100, 'API calls')];

/** An account with its plaintext credentials; the name defaults to a unique `acct-…`. */
export function buildAccount(services: Services, name = `acct-${uniqueSuffix(4)}`) {
  return services.accounts.createAccount({ name });
}

export interface ProductSpec {
  name?: string;
  /** Defaults to `<codePrefix>-<random hex>`. */
  shortCode?: string;
  codePrefix?: string;
  /** Added in order; defaults to DEMO_FEATURES. */
  features?: readonly NewProductFeatureInput[];
}

/** A product with its features (read back after they were added). */
export async function buildProduct(services: Services, accountId: number, spec: ProductSpec = {}) {
  const created = await services.products.createProduct(accountId, {
    name: spec.name ?? 'Demo product',
    shortCode: spec.shortCode ?? `${spec.codePrefix ?? 'demo'}-${uniqueSuffix(4)}`,
  });
  const features = spec.features ?? DEMO_FEATURES;
  for (const feature of features) await services.products.addFeature(accountId, created.id, feature);
  return features.length === 0 ? created : services.products.getProduct(accountId, created.id);
}

/** A license; each hardware id in `activate` is then activated on it through the License API's use case (DeviceService). */
export async function buildLicense(services: Services, accountId: number, input: NewLicenseInput, activate: readonly string[] = []) {
  const license = await services.licenses.createLicense(accountId, input);
  const devices: Device[] = [];
  for (const hardwareId of activate) devices.push((await services.devices.activate(accountId, { license: { licenseId: license.id }, hardwareId })).device);
  return { license, devices };
}

/** A Web API v3 machine fingerprint (64..1024 characters). */
export function fingerprint(label = uniqueSuffix(4)): string {
  return `fp-${label}-`.padEnd(64, 'x');
}

export interface V3ActivationSpec {
  productId: number;
  key: string;
  /** The caller's account (null: a client without a token) and the account id the body names (undefined = not given). */
  callerAccountId?: number | null;
  bodyAccountId?: number;
  fingerprint?: string;
  /** Defaults to os `linux`, hostname `h1`. */
  details?: ActivationDetails;
}

/** A Web API v3 activation through the seat service, as a client activating a machine by license key would make it. */
export async function buildV3Activation(services: Services, spec: V3ActivationSpec) {
  return services.devices.activateByKey(
    { accountId: spec.callerAccountId ?? null },
    {
      productId: spec.productId,
      key: spec.key,
      ...(spec.bodyAccountId !== undefined ? { accountId: spec.bodyAccountId } : {}),
      fingerprint: spec.fingerprint ?? fingerprint(),
      details: { os: 'linux', hostname: 'h1', ...spec.details },
    },
  );
}
