/**
 * Provider states shared by both sides: the consumer tests name them (`given(state.name, state.params)`),
 * the provider verification implements them (`test/contracts/provider/state-handlers.ts`). Names are
 * templates; the values travel as parameters, so one handler serves every license, key and count.
 */

export type StateParams = Record<string, string | number | boolean>;

export interface ProviderState {
  name: string;
  params: StateParams;
}

export const STATE = {
  serviceRunning: 'the service is running',
  databaseReachable: 'the database is reachable',
  databaseUnreachable: 'the database is unreachable',
  account: 'an account with credentials',
  product: 'a product {product} with a consumption feature {code}',
  licenseWithFeatureConsumptions: 'a license with key {key} and feature {code} with {remaining} consumptions left',
  licenseWithConsumptions: 'a consumption license with key {key} with {remaining} consumptions left',
  licenseActivatedOnDevice: 'a license with key {key} activated on device {hardwareId}',
  webhookSubscription: 'a webhook subscription to {url} for {event}',
  webhookDelivery: 'a webhook subscription to {url} with one delivery of {event}',
} as const;

export type StateName = (typeof STATE)[keyof typeof STATE];

/** The product every seeded license belongs to, unless a state names another. */
export const DEFAULT_PRODUCT = 'pact-product';

export const states = {
  serviceRunning: (): ProviderState => ({ name: STATE.serviceRunning, params: {} }),
  databaseReachable: (): ProviderState => ({ name: STATE.databaseReachable, params: {} }),
  databaseUnreachable: (): ProviderState => ({ name: STATE.databaseUnreachable, params: {} }),
  /** An empty account; the request filter authenticates as it. */
  account: (): ProviderState => ({ name: STATE.account, params: {} }),
  /** Returns `{ productId }` for `fromProviderState('${productId}', ...)`. */
  product: (p: { product?: string; code: string; max?: number }): ProviderState => ({
    name: STATE.product,
    params: { product: p.product ?? DEFAULT_PRODUCT, code: p.code, max: p.max ?? 100 },
  }),
  /** A license of product `{product}` whose feature `{code}` has `{remaining}` consumptions left (max = remaining + used). Returns `{ licenseId, productId }`. */
  licenseWithFeatureConsumptions: (p: { key: string; code: string; remaining: number; used?: number; product?: string }): ProviderState => ({
    name: STATE.licenseWithFeatureConsumptions,
    params: { key: p.key, code: p.code, remaining: p.remaining, used: p.used ?? 0, product: p.product ?? DEFAULT_PRODUCT },
  }),
  /** A consumption-type license with `{remaining}` license-level consumptions left. Returns `{ licenseId, productId }`. */
  licenseWithConsumptions: (p: { key: string; remaining: number; used?: number; product?: string }): ProviderState => ({
    name: STATE.licenseWithConsumptions,
    params: { key: p.key, remaining: p.remaining, used: p.used ?? 0, product: p.product ?? DEFAULT_PRODUCT },
  }),
  /** A license with one active seat on `{hardwareId}`. Returns `{ licenseId, productId, deviceId }`. */
  licenseActivatedOnDevice: (p: { key: string; hardwareId: string; product?: string }): ProviderState => ({
    name: STATE.licenseActivatedOnDevice,
    params: { key: p.key, hardwareId: p.hardwareId, product: p.product ?? DEFAULT_PRODUCT },
  }),
  /** A webhook subscription of the account to `{url}` for `{event}`. Returns `{ subscriptionId }`. */
  webhookSubscription: (p: { url: string; event: string }): ProviderState => ({ name: STATE.webhookSubscription, params: { url: p.url, event: p.event } }),
  /** A subscription to `{url}` for `license.updated` with one delivery (of a license disabled after it was created). Returns `{ subscriptionId, deliveryId }`. */
  webhookDelivery: (p: { url: string }): ProviderState => ({ name: STATE.webhookDelivery, params: { url: p.url, event: 'license.updated' } }),
};
