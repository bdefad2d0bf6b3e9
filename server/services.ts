import { AccountsRepository } from './db/accounts-repository.js';
import { ActivationSeatsRepository } from './db/activation-seats.js';
import { EventsRepository } from './db/events-repository.js';
import type { Database } from './db/connection.js';
import { DevicesRepository } from './db/devices-repository.js';
import { IdempotencyRepository } from './db/idempotency-repository.js';
import { LedgerRepository } from './db/ledger-repository.js';
import { LedgerRetentionRepository } from './db/ledger-retention-repository.js';
import { LicenseAdminRepository } from './db/license-admin-repository.js';
import { LicenseMetersRepository } from './db/license-meters.js';
import { LicensesRepository } from './db/licenses-repository.js';
import { LicenseUsersRepository } from './db/license-users-repository.js';
import { ProductsRepository } from './db/products-repository.js';
import { TrialsRepository } from './db/trials-repository.js';
import { UsageRepository } from './db/usage-repository.js';
import { AccountService } from './domain/accounts.js';
import { ActivationTokenSigner } from './domain/activation-tokens.js';
import { MeterAttributeIncrements, type MeterTarget } from './domain/meter-attribute-increments.js';
import { MeterAttributeUses } from './domain/meter-attributes.js';
import { systemClock, type Clock } from './domain/clock.js';
import { ConsumptionService } from './domain/consumption.js';
import { DeviceService } from './domain/devices.js';
import { LicenseDeactivations } from './domain/deactivation.js';
import { FeatureSlotService } from './domain/feature-slots.js';
import { FeatureSlotsRepository } from './db/feature-slots-repository.js';
import { IdempotencyService } from './domain/idempotency.js';
import { LedgerRetention } from './domain/ledger-retention.js';
import { LicenseCheckService } from './domain/license-check.js';
import { LicenseAdminService } from './domain/license-admin.js';
import { LicenseService } from './domain/licenses.js';
import { LicenseUserService } from './domain/license-users.js';
import { ProductService, type ProductDetails } from './domain/products.js';
import { TrialService } from './domain/trials.js';
import { UsageService } from './domain/usage.js';
import type { HeldSeat } from './domain/ports.js';
import { SecretBox } from './domain/secrets.js';
import type { UnsealedSigningKey } from './domain/signing-keys.js';
import { TtlCache } from './domain/ttl-cache.js';
import type { Account } from './domain/types.js';
import { OutboxRepository } from './db/outbox-repository.js';
import { OutboxSettler } from './domain/outbox-settler.js';
import { WebhookDeliveriesRepository, WebhookSubscriptionsRepository } from './db/webhooks-repository.js';
import { EventOutbox } from './domain/event-outbox.js';
import { WebhookService, type TargetPolicy } from './domain/webhooks.js';
import type { Logger } from './logger.js';
import { v3EventPayloads } from './http/v3/event-payloads.js';
import { assertAllowedTarget, TargetRefused } from './webhooks/targets.js';

export interface ServicesOptions {
  clock?: Clock;
  /** Base64 of 32 bytes (SECRETS_KEY). */
  secretsKey: string;
  /** Accept webhook targets on private, loopback and link-local addresses (WEBHOOKS_ALLOW_PRIVATE_TARGETS). */
  allowPrivateWebhookTargets?: boolean;
  logger?: Logger;
  /** How long an Idempotency-Key claim is honoured before a retry may take it over (default 30 s). */
  idempotencyLockMs?: number;
  /** Days of ledger entries kept (LEDGER_RETENTION_DAYS); null or absent: every entry. */
  ledgerRetentionDays?: number | null;
}

function targetPolicy(allowPrivate: boolean): TargetPolicy {
  return async (url) => {
    try {
      await assertAllowedTarget(url, allowPrivate);
      return null;
    } catch (err) {
      if (err instanceof TargetRefused) return err.message;
      throw err;
    }
  };
}

/**
 * The in-memory caches of one server, each a TtlCache with its own limits, created here once and
 * handed to their users. Their clock is the wall clock, not the services' clock (tests move that one
 * by days and must still see changes made since). A cache never decides alone: what it keeps either
 * never changes (the shortcut targets) or may lag by its TTL at most (credentials, signing keys).
 */
export function createCaches() {
  return {
    /** License API key lookups (account and decrypted shared key) by the key's SHA-256: a removed key works 10 s at most. */
    licenseApiCredentials: new TtlCache<string, { account: Account; sharedKey: string }>({ maxEntries: 10_000, ttlMs: 10_000 }),
    /** Accounts' unsealed active signing keys. */
    signingKeys: new TtlCache<number, UnsealedSigningKey>({ maxEntries: 10_000, ttlMs: 10 * 60_000 }),
    /** License API feature consumptions' shortcut: license id by account, product, license key and feature. */
    featureLicenses: new TtlCache<string, number>({ maxEntries: 50_000, ttlMs: 60_000 }),
    /** Seats as read by consumptions through a seat (guarded by the license's seat epoch, so never stale in effect). */
    heldSeats: new TtlCache<string, HeldSeat>({ maxEntries: 50_000, ttlMs: 60_000 }),
    /** Web API v3 meter-attribute increments' shortcut: meter target by activation and attribute. */
    meterTargets: new TtlCache<string, MeterTarget>({ maxEntries: 50_000, ttlMs: 60_000 }),
    /** Product details a license check shows, by account and short code: a rename shows in other processes within 10 s. */
    productDetails: new TtlCache<string, ProductDetails>({ maxEntries: 10_000, ttlMs: 10_000 }),
  };
}

export type Caches = ReturnType<typeof createCaches>;

/** The composition root of the domain: repositories on the database, services on the repositories. */
export function createServices(db: Database, options: ServicesOptions) {
  const clock = options.clock ?? systemClock;
  const caches = createCaches();
  const box = new SecretBox(options.secretsKey);
  const productsRepo = new ProductsRepository(db.models);
  const metersRepo = new LicenseMetersRepository(db.models);
  const ledger = new LedgerRepository(db.models);
  const licensesRepo = new LicensesRepository(db.models);
  const products = new ProductService(productsRepo, clock, caches.productDetails);
  const productLookup = { productExists: (accountId: number, shortCode: string) => products.productExists(accountId, shortCode) };
  const accounts = new AccountService(new AccountsRepository(db.models), box, clock, caches.signingKeys);
  const devicesRepo = new DevicesRepository(db.models);
  const events = new EventsRepository(db.models);
  const webhookSubscriptions = new WebhookSubscriptionsRepository(db.models);
  const webhookDeliveries = new WebhookDeliveriesRepository(db.models);
  const webhooks = new WebhookService(webhookSubscriptions, webhookDeliveries, events, box, targetPolicy(options.allowPrivateWebhookTargets ?? false), clock);
  const settler = new OutboxSettler({
    outbox: new OutboxRepository(db.models),
    ledger,
    events,
    lookup: {
      license: (accountId, licenseId) => licensesRepo.findById(accountId, licenseId),
      deviceByActivationId: (activationId) => devicesRepo.findByActivationId(activationId),
    },
    payloads: v3EventPayloads,
    clock,
    fanOut: webhooks,
    onError: (err, context) => options.logger?.error({ err: { message: (err as Error).message } }, `${context} failed (the dispatcher's repair step retries)`),
  });
  const eventOutbox = new EventOutbox(settler, clock);
  const activationSeats = new ActivationSeatsRepository(db.models);
  const featureSlotsRepo = new FeatureSlotsRepository(db.models);
  const licenseUsers = new LicenseUserService(new LicenseUsersRepository(db.models), licensesRepo, clock);
  const devices = new DeviceService(devicesRepo, metersRepo, productLookup, clock, activationSeats, eventOutbox, licensesRepo, new MeterAttributeUses(metersRepo, clock, eventOutbox, devicesRepo), featureSlotsRepo, licenseUsers);
  const consumption = new ConsumptionService(metersRepo, productLookup, clock, eventOutbox, ledger, caches.featureLicenses, devicesRepo, caches.heldSeats);
  const licenses = new LicenseService(licensesRepo, products, clock);
  const idempotency = new IdempotencyService(new IdempotencyRepository(db.models), clock, options.idempotencyLockMs !== undefined ? { lockMs: options.idempotencyLockMs } : {});
  return {
    clock,
    accounts,
    products,
    licenses,
    /** Trials, one per product and device (License API trial_key, Web API v3 trial activations). */
    trials: new TrialService(new TrialsRepository(db.models), products, licenses, clock),
    /** License users of user-based licenses: records, assignments, logins. */
    licenseUsers,
    /** The seats of licenses (activations, devices) for every dialect. */
    devices,
    consumption,
    /** License API deactivations, with the consumptions they may carry. */
    deactivations: new LicenseDeactivations({ devices, consumption }),
    licenseAdmin: new LicenseAdminService(new LicenseAdminRepository(db.models), licensesRepo, products, clock, eventOutbox),
    ledger,
    /** Usage reports and pages of the consumption ledger (Management API v1). */
    usage: new UsageService(new UsageRepository(db.models), licensesRepo, products),
    /** The ledger's retention: entries older than LEDGER_RETENTION_DAYS summarised into rollups, then deleted. */
    ledgerRetention: new LedgerRetention(new LedgerRetentionRepository(db.models), clock, options.ledgerRetentionDays ?? null),
    /** Changes of one meter attribute's uses by one activation. */
    meterAttributeIncrements: new MeterAttributeIncrements({ devices, consumption, clock, idempotency, meterTargets: caches.meterTargets }),
    /** Signs activation tokens (their claims are the Web API v3's, see http/v3/activation-token.ts). */
    activationTokens: new ActivationTokenSigner(accounts, clock),
    /** Where domain events (activation.updated, ...) are recorded for webhook delivery. */
    events,
    /** Durable event recording with state changes (outboxes) and its repair step. */
    eventOutbox,
    /** Webhook subscriptions and deliveries. */
    webhooks,
    webhookSubscriptions,
    webhookDeliveries,
    licenseCheck: new LicenseCheckService(metersRepo, productLookup, clock, licensesRepo, devices),
    /** Floating license features' slots (License API check_license_feature, floating/feature_*). */
    featureSlots: new FeatureSlotService(featureSlotsRepo, metersRepo, productLookup, devicesRepo, clock),
    idempotency,
    caches,
  };
}

export type Services = ReturnType<typeof createServices>;
