import { EVENT_TYPES } from '../../server/domain/events.js';
import type { NewLicenseInput } from '../../server/domain/licenses.js';
import type { Services } from '../../server/services.js';
import { activationFeature, buildLicense, buildProduct, consumptionFeature, fingerprint } from '../support/fixtures.js';
import type { TestServer } from '../support/server.js';

/** A machine fingerprint: the fixture builder's, re-exported for the v3 tests. */
export { fingerprint };

export interface V3Product {
  productId: number;
}

/** A product with meter attributes `api-calls` (max 150), `unlimited-calls`, `floating-calls` (floating, max 100) and a non-meter feature. */
export async function seedV3Product(services: Services, accountId: number): Promise<V3Product> {
  const product = await buildProduct(services, accountId, {
    name: 'App',
    codePrefix: 'app',
    features: [
      activationFeature('export', 'Export'),
      consumptionFeature('api-calls', 150, 'API calls'),
      consumptionFeature('unlimited-calls', undefined, 'Unlimited calls'),
      consumptionFeature('floating-calls', 100, 'Floating calls'),
    ],
  });
  return { productId: product.id };
}

/** A perpetual license (5 seats) with the four features of seedV3Product's product, metadata `{tier: 'pro'}`. */
export async function seedV3License(services: Services, accountId: number, productId: number, extra: Partial<NewLicenseInput> = {}) {
  const { license } = await buildLicense(services, accountId, {
    productId,
    type: 'perpetual',
    maxActivations: 5,
    features: [
      { code: 'export' },
      { code: 'api-calls', max: 150 },
      { code: 'unlimited-calls', unlimited: true },
      { code: 'floating-calls', max: 100, isFloating: true },
    ],
    metadata: { tier: 'pro' },
    ...extra,
  });
  return license;
}

export interface Client {
  baseUrl: string;
  token?: string | undefined;
}

// Answers are JSON whose shape each test asserts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function call(client: Client, method: string, path: string, body?: unknown, token = client.token): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${client.baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The JWT payload (unverified), for reading `aid`. */
export function claimsOf(token: string): Record<string, Json> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

export function activationBody(license: { key: string | null; productId: number; accountId: number }, fp: string, extra: Record<string, unknown> = {}) {
  return {
    os: 'linux',
    fingerprint: fp,
    hostname: 'host-1',
    userHash: 'user-hash',
    productId: String(license.productId),
    accountId: String(license.accountId),
    key: license.key!,
    ...extra,
  };
}

/** Activates a machine client-side (no token) and returns the activation id. */
export async function activate(t: Pick<TestServer, 'baseUrl'>, license: { key: string | null; productId: number; accountId: number }, fp = fingerprint()): Promise<string> {
  const res = await call({ baseUrl: t.baseUrl }, 'POST', '/v3/activations', activationBody(license, fp));
  if (res.status !== 201) throw new Error(`activation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return claimsOf(res.body.activationToken).aid as string;
}

/**
 * Subscribes the account to every event type (at a closed local port: deliveries just fail and wait
 * for a retry), so that its events are recorded: events nobody subscribes to are not kept.
 */
export async function subscribeToAllEvents(t: Pick<TestServer, 'services' | 'account'>): Promise<void> {
  await t.services.webhooks.create(t.account.id, { url: 'http://127.0.0.1:9/hooks', events: [...EVENT_TYPES] });
}
