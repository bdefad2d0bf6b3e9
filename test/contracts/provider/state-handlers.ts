/**
 * Provider state handlers: each one resets the database and seeds exactly its state through the
 * domain services (the same rules as the API: no raw inserts), creating a fresh account whose real
 * credentials the request filter then uses. Handlers return the ids the database generated, for the
 * consumer's `fromProviderState('${licenseId}', ...)` expressions.
 */
import type { AccountCredentials } from '../../../server/domain/accounts.js';
import type { Account } from '../../../server/domain/types.js';
import { activationFeature, buildAccount, buildLicense, buildProduct, buildV3Activation, consumptionFeature } from '../../support/fixtures.js';
import type { TestServer } from '../../support/server.js';
import type { AccountPool } from './account-pool.js';
import { STATE, type StateName, type StateParams } from '../support/provider-states.js';

/** What the current interaction runs as; set by every state handler. */
export interface ProviderContext {
  server: TestServer;
  /** Where fresh accounts come from (made ahead of time); without one, each state creates its own. */
  accounts?: AccountPool;
  current?: { account: Account; credentials: AccountCredentials };
}

export type StateValues = Record<string, string | number>;
export type StateHandlerFn = (params: StateParams) => Promise<StateValues | undefined>;

function param<T extends string | number | boolean>(params: StateParams, name: string, type: 'string' | 'number' | 'boolean', fallback?: T): T {
  const value = params[name] ?? fallback;
  if (typeof value !== type) throw new Error(`provider state parameter "${name}" must be a ${type}, got ${JSON.stringify(value)}`);
  return value as T;
}

/**
 * Test hook for readiness: `checkReadiness` of the real server is `() => db.ping()`, called on every
 * `/readyz`; making `ping` answer false is what an unreachable database looks like to it.
 */
function setDatabaseReachable(server: TestServer, reachable: boolean): void {
  const db = server.server.db as { ping(): Promise<boolean>; realPing?: () => Promise<boolean> };
  db.realPing ??= db.ping.bind(db);
  db.ping = reachable ? db.realPing : async () => false;
}

/** Empties every collection (documents only: indexes stay) and creates a fresh account. */
async function reset(ctx: ProviderContext): Promise<{ account: Account; credentials: AccountCredentials }> {
  setDatabaseReachable(ctx.server, true);
  await Promise.all(Object.values(ctx.server.server.db.models).map((model) => model.deleteMany({})));
  const created = ctx.accounts ? await ctx.accounts.take(ctx.server.server.db.models) : await buildAccount(ctx.server.services, 'pact-provider-account');
  ctx.current = created;
  return created;
}

function seedProduct(ctx: ProviderContext, accountId: number, shortCode: string, feature?: { code: string; max: number }) {
  return buildProduct(ctx.server.services, accountId, { name: `Product ${shortCode}`, shortCode, features: feature ? [consumptionFeature(feature.code, feature.max)] : [] });
}

/** One handler per state in `STATE` (the type makes a missing one a compile error). */
export function createStateHandlers(ctx: ProviderContext): Record<StateName, StateHandlerFn> {
  const services = () => ctx.server.services;

  /** Activates the license on `hardwareId` when the state names one; returns `{ deviceId }`. */
  async function activateIfAsked(accountId: number, licenseId: number, params: StateParams): Promise<StateValues> {
    if (params.hardwareId === undefined) return {};
    const { device } = await services().devices.activate(accountId, { license: { licenseId }, hardwareId: param<string>(params, 'hardwareId', 'string') });
    return { deviceId: device.id };
  }

  /** A floating cloud license of `floatingUsers` slots, borrowing as the state asks, with its product. */
  async function seedFloatingLicense(params: StateParams, floating: { floatingUsers: number; floatingTimeout: number; canBorrow: boolean; maxBorrowTime: number }) {
    const { account } = await reset(ctx);
    const product = await seedProduct(ctx, account.id, param<string>(params, 'product', 'string'));
    const license = await services().licenses.createLicense(account.id, {
      productId: product.id,
      key: param<string>(params, 'key', 'string'),
      type: 'perpetual',
      maxActivations: 5,
      features: [],
      isFloatingCloud: true,
      ...floating,
    });
    if (!license.isFloatingCloud || license.floatingUsers !== floating.floatingUsers || license.canBorrow !== floating.canBorrow) {
      throw new Error(`the license was not created floating as asked: ${JSON.stringify({ isFloatingCloud: license.isFloatingCloud, floatingUsers: license.floatingUsers, canBorrow: license.canBorrow })}`);
    }
    return { account, product, license };
  }

  /** Activates `hardwareId` on the license, failing loudly unless it then holds a live floating seat. */
  async function takeSeat(accountId: number, licenseId: number, hardwareId: string) {
    const { device } = await services().devices.activate(accountId, { license: { licenseId }, hardwareId });
    if (!device.active) throw new Error(`device ${hardwareId} holds no seat after its activation`);
    return device;
  }

  /** A valid `borrowed_until` for the interaction that follows the state: one hour from now. */
  const borrowedUntil = () => new Date(services().clock.now().getTime() + 3_600_000).toISOString();

  /** A product `{product}` (no features) with the trial settings `{allowTrial}`, `{trialDays}`, failing loudly unless it has them. */
  async function seedTrialProduct(params: StateParams) {
    const { account } = await reset(ctx);
    const settings = { allowTrial: param<boolean>(params, 'allowTrial', 'boolean'), trialDays: param<number>(params, 'trialDays', 'number') };
    const shortCode = param<string>(params, 'product', 'string');
    const product = await services().products.createProduct(account.id, { name: `Product ${shortCode}`, shortCode, ...settings });
    if (product.allowTrial !== settings.allowTrial || product.trialDays !== settings.trialDays) {
      throw new Error(`the product was not created with the trial settings asked: ${JSON.stringify({ allowTrial: product.allowTrial, trialDays: product.trialDays })}`);
    }
    return { account, product };
  }

  /** A v3 license with one meter attribute; ids as strings (v3 carries every id as a string). */
  async function seedV3License(params: StateParams) {
    const { account } = await reset(ctx);
    const code = param<string>(params, 'code', 'string');
    const remaining = param<number>(params, 'remaining', 'number');
    const product = await seedProduct(ctx, account.id, param<string>(params, 'product', 'string'), { code, max: remaining });
    const license = await services().licenses.createLicense(account.id, {
      productId: product.id,
      key: param<string>(params, 'key', 'string'),
      type: 'perpetual',
      maxActivations: 5,
      features: [{ code, max: remaining }],
    });
    return { account, license, values: { accountId: String(account.id), productId: String(product.id), licenseId: String(license.id) } };
  }

  return {
    [STATE.serviceRunning]: async () => {
      await reset(ctx);
      return undefined;
    },
    [STATE.databaseReachable]: async () => {
      await reset(ctx);
      return undefined;
    },
    [STATE.databaseUnreachable]: async () => {
      await reset(ctx);
      setDatabaseReachable(ctx.server, false);
      return undefined;
    },
    [STATE.account]: async () => {
      const { account } = await reset(ctx);
      return { accountId: account.id };
    },
    [STATE.product]: async (params) => {
      const { account } = await reset(ctx);
      const product = await seedProduct(ctx, account.id, param<string>(params, 'product', 'string'), {
        code: param<string>(params, 'code', 'string'),
        max: param<number>(params, 'max', 'number', 100),
      });
      return { productId: product.id };
    },
    [STATE.trialProduct]: async (params) => ({ productId: (await seedTrialProduct(params)).product.id }),
    [STATE.v3TrialProduct]: async (params) => {
      const { account, product } = await seedTrialProduct(params);
      return { accountId: String(account.id), productId: String(product.id) };
    },
    [STATE.v3TrialActivation]: async (params) => {
      const { account, product } = await seedTrialProduct({ ...params, allowTrial: true });
      const { trial } = await services().trials.startTrial(
        { accountId: account.id },
        { productId: product.id, fingerprint: param<string>(params, 'fingerprint', 'string'), details: { os: 'linux', hostname: 'build-01', userHash: 'pact-user' } },
      );
      return { accountId: String(account.id), productId: String(product.id), trialActivationId: String(trial.license.id) };
    },
    [STATE.licenseWithFeatureConsumptions]: async (params) => {
      const { account } = await reset(ctx);
      const code = param<string>(params, 'code', 'string');
      const remaining = param<number>(params, 'remaining', 'number');
      const used = param<number>(params, 'used', 'number', 0);
      const product = await seedProduct(ctx, account.id, param<string>(params, 'product', 'string'), { code, max: remaining + used });
      const license = await services().licenses.createLicense(account.id, {
        productId: product.id,
        key: param<string>(params, 'key', 'string'),
        type: 'perpetual',
        maxActivations: 5,
        features: [{ code, max: remaining + used }],
      });
      if (used > 0) {
        await services().consumption.consume({
          accountId: account.id,
          license: { licenseId: license.id },
          target: { scope: 'feature', code },
          amount: used,
          negatives: 'policy',
          event: 'consumption_add',
        });
      }
      return { licenseId: license.id, productId: product.id, ...(await activateIfAsked(account.id, license.id, params)) };
    },
    [STATE.licenseWithConsumptions]: async (params) => {
      const { account } = await reset(ctx);
      const remaining = param<number>(params, 'remaining', 'number');
      const used = param<number>(params, 'used', 'number', 0);
      const product = await seedProduct(ctx, account.id, param<string>(params, 'product', 'string'));
      const license = await services().licenses.createLicense(account.id, {
        productId: product.id,
        key: param<string>(params, 'key', 'string'),
        type: 'consumption',
        maxActivations: 5,
        consumption: { max: remaining + used },
        features: [],
      });
      if (used > 0) {
        await services().consumption.consume({
          accountId: account.id,
          license: { licenseId: license.id },
          target: { scope: 'license' },
          amount: used,
          negatives: 'policy',
          event: 'consumption_add',
        });
      }
      return { licenseId: license.id, productId: product.id, ...(await activateIfAsked(account.id, license.id, params)) };
    },
    [STATE.licenseActivatedOnDevice]: async (params) => {
      const { account } = await reset(ctx);
      const product = await seedProduct(ctx, account.id, param<string>(params, 'product', 'string'));
      const {
        license,
        devices: [device],
      } = await buildLicense(services(), account.id, { productId: product.id, key: param<string>(params, 'key', 'string'), type: 'perpetual', maxActivations: 5, features: [] }, [
        param<string>(params, 'hardwareId', 'string'),
      ]);
      return { licenseId: license.id, productId: product.id, deviceId: device!.id };
    },
    [STATE.floatingLicenseOnDevice]: async (params) => {
      const { account, product, license } = await seedFloatingLicense(params, {
        floatingUsers: param<number>(params, 'floatingUsers', 'number'),
        floatingTimeout: param<number>(params, 'floatingTimeout', 'number', 30),
        canBorrow: param<boolean>(params, 'canBorrow', 'boolean', true),
        maxBorrowTime: param<number>(params, 'maxBorrowTime', 'number', 24),
      });
      const device = await takeSeat(account.id, license.id, param<string>(params, 'hardwareId', 'string'));
      return { licenseId: license.id, productId: product.id, deviceId: device.id, borrowedUntil: borrowedUntil() };
    },
    [STATE.floatingLicenseTakenByOther]: async (params) => {
      const { account, product, license } = await seedFloatingLicense(params, { floatingUsers: 1, floatingTimeout: 30, canBorrow: true, maxBorrowTime: 24 });
      const hardwareId = param<string>(params, 'hardwareId', 'string');
      const device = await takeSeat(account.id, license.id, hardwareId);
      await services().devices.releaseFloating(account.id, { licenseId: license.id }, hardwareId);
      await takeSeat(account.id, license.id, param<string>(params, 'holder', 'string'));
      if ((await services().devices.liveSeats(license)) !== 1) throw new Error('the only floating slot is not held by exactly one device');
      return { licenseId: license.id, productId: product.id, deviceId: device.id, borrowedUntil: borrowedUntil() };
    },
    [STATE.floatingFeatureOnDevice]: async (params) => {
      const { account } = await reset(ctx);
      const [code, plainCode] = [param<string>(params, 'code', 'string'), param<string>(params, 'plainCode', 'string')];
      const floating = { code, isFloatingCloud: true, floatingUsers: param<number>(params, 'floatingUsers', 'number'), floatingTimeout: param<number>(params, 'floatingTimeout', 'number') };
      const shortCode = param<string>(params, 'product', 'string');
      const product = await buildProduct(services(), account.id, { name: `Product ${shortCode}`, shortCode, features: [activationFeature(code), activationFeature(plainCode)] });
      const license = await services().licenses.createLicense(account.id, {
        productId: product.id,
        key: param<string>(params, 'key', 'string'),
        type: 'perpetual',
        maxActivations: 5,
        canBorrow: param<boolean>(params, 'canBorrow', 'boolean'),
        maxBorrowTime: param<number>(params, 'maxBorrowTime', 'number'),
        features: [floating, { code: plainCode }],
      });
      const seeded = license.features.find((f) => f.code === code);
      if (!seeded?.isFloatingCloud || seeded.floatingUsers !== floating.floatingUsers || seeded.floatingTimeout !== floating.floatingTimeout) {
        throw new Error(`the license feature ${code} was not created floating as asked: ${JSON.stringify(seeded)}`);
      }
      const hardwareId = param<string>(params, 'hardwareId', 'string');
      const device = await takeSeat(account.id, license.id, hardwareId);
      if (params.holder !== undefined) {
        const holder = param<string>(params, 'holder', 'string');
        const holderDevice = holder === hardwareId ? device : await takeSeat(account.id, license.id, holder);
        const { slot } = await services().featureSlots.check(account.id, { licenseId: license.id }, holder, code);
        if (slot?.deviceId !== holderDevice.id || (await services().featureSlots.inUse(license.id, code)) !== 1) throw new Error(`device ${holder} holds no slot of ${code}, or not the only one`);
      }
      return { licenseId: license.id, productId: product.id, deviceId: device.id, borrowedUntil: borrowedUntil() };
    },
    [STATE.v3License]: async (params) => (await seedV3License(params)).values,
    [STATE.v3Activation]: async (params) => {
      const { account, license, values } = await seedV3License(params);
      const { device } = await buildV3Activation(services(), {
        callerAccountId: account.id,
        bodyAccountId: Number(values.accountId),
        productId: license.productId,
        key: param<string>(params, 'key', 'string'),
        fingerprint: param<string>(params, 'fingerprint', 'string'),
        details: { os: param<string>(params, 'os', 'string', 'linux'), hostname: param<string>(params, 'hostname', 'string', 'build-01'), userHash: 'pact-user' },
      });
      return { ...values, activationId: device.activationId };
    },
    [STATE.webhookSubscription]: async (params) => {
      const { account } = await reset(ctx);
      const { subscription } = await services().webhooks.create(account.id, { url: param<string>(params, 'url', 'string'), events: [param<string>(params, 'event', 'string')] });
      return { subscriptionId: subscription.id };
    },
    [STATE.webhookDelivery]: async (params) => {
      const { account } = await reset(ctx);
      // Paused, so the provider's dispatcher leaves the delivery alone while the interaction runs.
      const { subscription } = await services().webhooks.create(account.id, { url: param<string>(params, 'url', 'string'), events: [param<string>(params, 'event', 'string')], active: false });
      const product = await seedProduct(ctx, account.id, 'pact-webhooks');
      const { license } = await buildLicense(services(), account.id, { productId: product.id, type: 'perpetual', maxActivations: 1, features: [] });
      await services().webhooks.update(account.id, subscription.id, { active: true });
      await services().licenseAdmin.setEnabled(account.id, license.id, false);
      await services().webhooks.update(account.id, subscription.id, { active: false });
      const [delivery] = await services().webhooks.listDeliveries(account.id, subscription.id, 1);
      if (!delivery) throw new Error('no webhook delivery was created');
      return { subscriptionId: subscription.id, deliveryId: delivery.id };
    },
    [STATE.userBasedLicense]: async (params) => {
      const { account } = await reset(ctx);
      const product = await seedProduct(ctx, account.id, param<string>(params, 'product', 'string'));
      const maxLicenseUsers = param<number>(params, 'maxLicenseUsers', 'number', 0);
      const license = await services().licenses.createLicense(account.id, { productId: product.id, key: null, type: 'perpetual', maxActivations: 5, features: [], maxLicenseUsers });
      const email = param<string>(params, 'email', 'string');
      const { user, license: assigned } = await services().licenseUsers.assignUser(account.id, license.id, { email, password: param<string>(params, 'password', 'string') });
      if (assigned.key !== null || assigned.maxLicenseUsers !== maxLicenseUsers || !assigned.users.some((u) => u.id === user.id && u.email === email)) {
        throw new Error(`the user-based license was not seeded as asked: ${JSON.stringify({ key: assigned.key, maxLicenseUsers: assigned.maxLicenseUsers, users: assigned.users })}`);
      }
      return { licenseId: license.id, productId: product.id, userId: user.id };
    },
  };
}

/** A state handler failure, kept so the test fails even though Pact only logs it. */
export interface StateFailure {
  state: string;
  error: string;
}

/**
 * The handlers as Pact's `stateHandlers`, made loud: Pact answers a throwing handler with 200 and
 * carries on, so every failure is recorded here and the verification fails on it.
 */
export function loudStateHandlers(handlers: Record<string, StateHandlerFn>, failures: StateFailure[]): Record<string, (params?: unknown) => Promise<StateValues | undefined>> {
  const wrapped: Record<string, (params?: unknown) => Promise<StateValues | undefined>> = {};
  for (const [state, fn] of Object.entries(handlers)) {
    wrapped[state] = async (params?: unknown) => {
      try {
        return await fn((params ?? {}) as StateParams);
      } catch (err) {
        failures.push({ state, error: err instanceof Error ? err.message : String(err) });
        throw err;
      }
    };
  }
  return wrapped;
}
