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
  floatingLicenseOnDevice: 'a floating cloud license with key {key} for {floatingUsers} users, activated on device {hardwareId}',
  floatingLicenseTakenByOther: 'a floating cloud license with key {key} whose only slot device {holder} holds, device {hardwareId} released its slot',
  floatingFeatureOnDevice: 'a license with key {key} and floating cloud feature {code} for {floatingUsers} users, activated on device {hardwareId}',
  v3License: 'a license with key {key} and meter attribute {code} with {remaining} uses left',
  v3Activation: 'a license with key {key} and meter attribute {code} with {remaining} uses left, activated on machine {fingerprint}',
  webhookSubscription: 'a webhook subscription to {url} for {event}',
  trialProduct: 'a product {product} whose trial settings are allow_trial {allowTrial} and trial_days {trialDays}',
  v3TrialProduct: 'a product {product} whose trial settings are allow_trial {allowTrial} and trial_days {trialDays}, with Web API v3 ids',
  v3TrialActivation: 'a product {product} that allows trials of {trialDays} days, with a Web API v3 trial activation of machine {fingerprint}',
  webhookDelivery: 'a webhook subscription to {url} with one delivery of {event}',
  userBasedLicense: 'a user-based license with user {email} whose password is {password}',
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
  /**
   * A license of product `{product}` whose feature `{code}` has `{remaining}` consumptions left (max =
   * remaining + used), activated on device `{hardwareId}` when one is given (the License API counts
   * only for an active device). Returns `{ licenseId, productId }` (and `deviceId` when activated).
   */
  licenseWithFeatureConsumptions: (p: { key: string; code: string; remaining: number; used?: number; product?: string; hardwareId?: string }): ProviderState => ({
    name: STATE.licenseWithFeatureConsumptions,
    params: { key: p.key, code: p.code, remaining: p.remaining, used: p.used ?? 0, product: p.product ?? DEFAULT_PRODUCT, ...(p.hardwareId !== undefined ? { hardwareId: p.hardwareId } : {}) },
  }),
  /** A consumption-type license with `{remaining}` license-level consumptions left, activated on `{hardwareId}` when given. Returns `{ licenseId, productId }` (and `deviceId`). */
  licenseWithConsumptions: (p: { key: string; remaining: number; used?: number; product?: string; hardwareId?: string }): ProviderState => ({
    name: STATE.licenseWithConsumptions,
    params: { key: p.key, remaining: p.remaining, used: p.used ?? 0, product: p.product ?? DEFAULT_PRODUCT, ...(p.hardwareId !== undefined ? { hardwareId: p.hardwareId } : {}) },
  }),
  /** A license with one active seat on `{hardwareId}`. Returns `{ licenseId, productId, deviceId }`. */
  licenseActivatedOnDevice: (p: { key: string; hardwareId: string; product?: string }): ProviderState => ({
    name: STATE.licenseActivatedOnDevice,
    params: { key: p.key, hardwareId: p.hardwareId, product: p.product ?? DEFAULT_PRODUCT },
  }),
  /**
   * A floating cloud license (`is_floating_cloud`) of `{floatingUsers}` slots, `floating_timeout`
   * `{floatingTimeout}` minutes, borrowing allowed (`{canBorrow}`, default true) for up to
   * `{maxBorrowTime}` hours (default 24), whose slot device `{hardwareId}` holds. Returns
   * `{ licenseId, productId, deviceId }` and `borrowedUntil`: an ISO time one hour from the state's
   * setup, a valid `borrowed_until` for `fromProviderState('${borrowedUntil}', ...)`.
   */
  floatingLicenseOnDevice: (p: { key: string; hardwareId: string; floatingUsers?: number; floatingTimeout?: number; canBorrow?: boolean; maxBorrowTime?: number; product?: string }): ProviderState => ({
    name: STATE.floatingLicenseOnDevice,
    params: {
      key: p.key,
      hardwareId: p.hardwareId,
      floatingUsers: p.floatingUsers ?? 2,
      floatingTimeout: p.floatingTimeout ?? 30,
      canBorrow: p.canBorrow ?? true,
      maxBorrowTime: p.maxBorrowTime ?? 24,
      product: p.product ?? DEFAULT_PRODUCT,
    },
  }),
  /**
   * A floating cloud license of one slot (borrowing allowed for 24 hours): device `{hardwareId}` was
   * activated and released its slot, then device `{holder}` took it, so `{hardwareId}` finds none
   * free. Returns `{ licenseId, productId, deviceId }` (the id of `{hardwareId}`) and `borrowedUntil` as above.
   */
  floatingLicenseTakenByOther: (p: { key: string; hardwareId: string; holder: string; product?: string }): ProviderState => ({
    name: STATE.floatingLicenseTakenByOther,
    params: { key: p.key, hardwareId: p.hardwareId, holder: p.holder, product: p.product ?? DEFAULT_PRODUCT },
  }),
  /**
   * A license (not floating itself; borrowing allowed (`{canBorrow}`, default true) for up to
   * `{maxBorrowTime}` hours, default 24) with two activation features: `{code}`, floating cloud with
   * `{floatingUsers}` slots (default 1) and `floating_timeout` `{floatingTimeout}` minutes (default 30),
   * and `{plainCode}`, not floating. Device `{hardwareId}` holds a seat on the license; when `{holder}`
   * is given, that device (`{hardwareId}` itself, or another one activated for it) holds a slot of
   * `{code}`, taken by a feature check. Returns `{ licenseId, productId, deviceId }` (of `{hardwareId}`)
   * and `borrowedUntil` as for `floatingLicenseOnDevice`.
   */
  floatingFeatureOnDevice: (p: {
    key: string;
    hardwareId: string;
    code: string;
    plainCode: string;
    holder?: string;
    floatingUsers?: number;
    floatingTimeout?: number;
    canBorrow?: boolean;
    maxBorrowTime?: number;
    product?: string;
  }): ProviderState => ({
    name: STATE.floatingFeatureOnDevice,
    params: {
      key: p.key,
      hardwareId: p.hardwareId,
      code: p.code,
      plainCode: p.plainCode,
      ...(p.holder !== undefined ? { holder: p.holder } : {}),
      floatingUsers: p.floatingUsers ?? 1,
      floatingTimeout: p.floatingTimeout ?? 30,
      canBorrow: p.canBorrow ?? true,
      maxBorrowTime: p.maxBorrowTime ?? 24,
      product: p.product ?? DEFAULT_PRODUCT,
    },
  }),
  /**
   * Web API v3: a license `{key}` whose meter attribute (consumption feature) `{code}` has `{remaining}`
   * uses left. Returns `{ accountId, productId, licenseId }` as **strings**, the way v3 carries ids.
   */
  v3License: (p: { key: string; code: string; remaining: number; product?: string }): ProviderState => ({
    name: STATE.v3License,
    params: { key: p.key, code: p.code, remaining: p.remaining, product: p.product ?? DEFAULT_PRODUCT },
  }),
  /**
   * As `v3License`, activated (through the v3 activation use-case) on machine `{fingerprint}`, which
   * reported `os` and `hostname` (default `linux`, `build-01`): also returns `activationId` (a UUID).
   */
  v3Activation: (p: { key: string; code: string; remaining: number; fingerprint: string; product?: string; os?: string; hostname?: string }): ProviderState => ({
    name: STATE.v3Activation,
    params: { key: p.key, code: p.code, remaining: p.remaining, fingerprint: p.fingerprint, product: p.product ?? DEFAULT_PRODUCT, os: p.os ?? 'linux', hostname: p.hostname ?? 'build-01' },
  }),
  /** A product `{product}` (no features) with these trial settings (License API product_details, trial_key). Returns `{ productId }`. */
  trialProduct: (p: { allowTrial: boolean; trialDays: number; product?: string }): ProviderState => ({
    name: STATE.trialProduct,
    params: { product: p.product ?? DEFAULT_PRODUCT, allowTrial: p.allowTrial, trialDays: p.trialDays },
  }),
  /** The same product as trialProduct, for the Web API v3 (ids as strings). Returns `{ accountId, productId }`. */
  v3TrialProduct: (p: { allowTrial: boolean; trialDays: number; product?: string }): ProviderState => ({
    name: STATE.v3TrialProduct,
    params: { product: p.product ?? DEFAULT_PRODUCT, allowTrial: p.allowTrial, trialDays: p.trialDays },
  }),
  /** A product allowing trials of `{trialDays}` days whose trial machine `{fingerprint}` has started (through the domain). Returns `{ accountId, productId, trialActivationId }`. */
  v3TrialActivation: (p: { trialDays: number; fingerprint: string; product?: string }): ProviderState => ({
    name: STATE.v3TrialActivation,
    params: { product: p.product ?? DEFAULT_PRODUCT, trialDays: p.trialDays, fingerprint: p.fingerprint },
  }),
  /** A webhook subscription of the account to `{url}` for `{event}`. Returns `{ subscriptionId }`. */
  webhookSubscription: (p: { url: string; event: string }): ProviderState => ({ name: STATE.webhookSubscription, params: { url: p.url, event: p.event } }),
  /** A subscription to `{url}` for `license.updated` with one delivery (of a license disabled after it was created). Returns `{ subscriptionId, deliveryId }`. */
  webhookDelivery: (p: { url: string }): ProviderState => ({ name: STATE.webhookDelivery, params: { url: p.url, event: 'license.updated' } }),
  /**
   * A user-based license (no key) of product `{product}` with at most `{maxLicenseUsers}` users (0: no
   * limit), to which license user `{email}` with password `{password}` is assigned. Returns
   * `{ licenseId, productId, userId }`.
   */
  userBasedLicense: (p: { email: string; password: string; maxLicenseUsers?: number; product?: string }): ProviderState => ({
    name: STATE.userBasedLicense,
    params: { email: p.email, password: p.password, maxLicenseUsers: p.maxLicenseUsers ?? 0, product: p.product ?? DEFAULT_PRODUCT },
  }),
};
