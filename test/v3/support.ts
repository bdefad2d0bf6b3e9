import { randomBytes } from 'node:crypto';
import { EVENT_TYPES } from '../../server/domain/events.js';
import type { NewLicenseInput } from '../../server/domain/licenses.js';
import type { Services } from '../../server/services.js';
import type { TestServer } from '../support/server.js';

/** A machine fingerprint (64..1024 characters). */
export function fingerprint(label = randomBytes(4).toString('hex')): string {
  return `fp-${label}-`.padEnd(64, 'x');
}

export interface V3Product {
  productId: number;
}

/** A product with meter attributes `api-calls` (max 150), `unlimited-calls`, `floating-calls` (floating, max 100) and a non-meter feature. */
export async function seedV3Product(services: Services, accountId: number): Promise<V3Product> {
  const product = await services.products.createProduct(accountId, { name: 'App', shortCode: `app-${randomBytes(3).toString('hex')}` });
  await services.products.addFeature(accountId, product.id, { code: 'export', name: 'Export', featureType: 'activation' });
  await services.products.addFeature(accountId, product.id, { code: 'api-calls', name: 'API calls', featureType: 'consumption', maxConsumption: 150 });
  await services.products.addFeature(accountId, product.id, { code: 'unlimited-calls', name: 'Unlimited calls', featureType: 'consumption' });
  await services.products.addFeature(accountId, product.id, { code: 'floating-calls', name: 'Floating calls', featureType: 'consumption', maxConsumption: 100 });
  return { productId: product.id };
}

export async function seedV3License(services: Services, accountId: number, productId: number, extra: Partial<NewLicenseInput> = {}) {
  return services.licenses.createLicense(accountId, {
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
