import { Schema, type Connection, type Model, type SchemaDefinition, type SchemaOptions } from 'mongoose';

/**
 * Mongoose schemas and indexes of every collection. Each counter lives inside one document (the
 * license) so that it changes through one atomic guarded update; what grows (seats, ledger entries,
 * idempotency keys) has its own collection, so that document stays small (README, Database). Repositories in this folder are the
 * only code that touches these models; they return plain objects (`lean()`).
 */

const { Mixed } = Schema.Types;

/** How long webhook events and finished deliveries are kept (TTL indexes). */
export const WEBHOOK_RETENTION_SECONDS = 30 * 24 * 3600;

/** Builds a schema without asking TypeScript to infer document types (repositories map to domain types). */
function schema(definition: Record<string, unknown>, options: SchemaOptions = {}): Schema {
  return new Schema(definition as SchemaDefinition, options as never);
}
const sub = { _id: false, minimize: false } as const;

const meterFields = {
  max: { type: Number, required: true, default: 0 },
  unlimited: { type: Boolean, required: true, default: false },
  allowNegative: { type: Boolean, required: true, default: false },
  allowOverages: { type: Boolean, required: true, default: false },
  maxOverages: { type: Number, required: true, default: 0 },
  reset: { type: Boolean, required: true, default: false },
  period: { type: String, default: null },
  total: { type: Number, required: true, default: 0 },
  gross: { type: Number, required: true, default: 0 },
  ceiling: { type: Number, default: null },
  resetAt: { type: Date, default: null },
  alertThresholds: { type: [Number], default: undefined },
  alerted: { type: [Number], default: undefined },
};

const accountSchema = schema(
  {
    _id: Number,
    name: { type: String, required: true },
    managementKeys: [schema({ hash: String, label: String, createdAt: Date }, sub)],
    licenseApiKeys: [schema({ hash: String, sealedSharedKey: String, createdAt: Date }, sub)],
    accessTokens: [schema({ hash: String, scopes: [String], label: String, createdAt: Date }, sub)],
    signingKeys: [
      schema({ kid: String, publicKeyPem: String, publicJwk: Mixed, sealedPrivateKeyPem: String, active: Boolean, createdAt: Date }, sub),
    ],
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);
accountSchema.index({ name: 1 });
accountSchema.index({ 'managementKeys.hash': 1 });
accountSchema.index({ 'licenseApiKeys.hash': 1 });
accountSchema.index({ 'accessTokens.hash': 1 });

const productFeatureSchema = schema(
  {
    id: { type: Number, required: true },
    code: { type: String, required: true },
    name: { type: String, required: true },
    featureType: { type: String, required: true },
    maxConsumption: { type: Number, default: 0 },
    allowOverages: { type: Boolean, default: false },
    maxOverages: { type: Number, default: 0 },
    resetConsumption: { type: Boolean, default: false },
    consumptionPeriod: { type: String, default: null },
    metadata: { type: Mixed, default: () => ({}) },
    createdAt: Date,
    updatedAt: Date,
  },
  sub,
);

const productSchema = schema(
  {
    _id: Number,
    accountId: { type: Number, required: true },
    name: { type: String, required: true },
    shortCode: { type: String, required: true },
    allowTrial: { type: Boolean, default: false },
    trialDays: { type: Number, default: 0 },
    features: [productFeatureSchema],
    createdAt: Date,
    updatedAt: Date,
  },
  { versionKey: false, minimize: false },
);
productSchema.index({ accountId: 1, shortCode: 1 }, { unique: true });
productSchema.index({ 'features.id': 1 });

const licenseFeatureSchema = schema(
  {
    id: { type: Number, required: true },
    productFeatureId: { type: Number, required: true },
    code: { type: String, required: true },
    name: { type: String, required: true },
    featureType: { type: String, required: true },
    ...meterFields,
    expiryDate: { type: Date, default: null },
    metadata: { type: Mixed, default: () => ({}) },
    isFloating: { type: Boolean, default: false },
    isFloatingCloud: { type: Boolean, default: false },
    floatingUsers: { type: Number, default: 0 },
    floatingTimeout: { type: Number, default: null },
    uses: { type: Mixed, default: () => ({}) },
  },
  sub,
);

const licenseUserSchema = schema(
  {
    id: Number,
    email: String,
    emailKey: String,
    firstName: { type: String, default: '' },
    lastName: { type: String, default: '' },
    phoneNumber: { type: String, default: '' },
    isActive: { type: Boolean, default: true },
    isInitialPassword: { type: Boolean, default: true },
    createdAt: Date,
    updatedAt: Date,
  },
  sub,
);

const licenseSchema = schema(
  {
    _id: Number,
    accountId: { type: Number, required: true },
    productId: { type: Number, required: true },
    productCode: { type: String, required: true },
    key: { type: String, default: null },
    users: [licenseUserSchema],
    maxLicenseUsers: { type: Number, default: 0 },
    type: { type: String, required: true },
    enabled: { type: Boolean, default: true },
    isTrial: { type: Boolean, default: false },
    validUntil: { type: Date, default: null },
    maxActivations: { type: Number, default: 1 },
    /** Seats held (active devices); a seat is taken with `$inc` guarded by `timesActivated < maxActivations`. */
    timesActivated: { type: Number, default: 0 },
    /** Raised by every write that takes a seat away; writes through a seat are guarded by it. */
    seatEpoch: { type: Number, default: 0 },
    lastActivatedDeviceId: { type: Number, default: null },
    consumption: schema(meterFields, sub),
    features: [licenseFeatureSchema],
    isFloating: { type: Boolean, default: false },
    isFloatingCloud: { type: Boolean, default: false },
    floatingUsers: { type: Number, default: 0 },
    floatingTimeout: { type: Number, default: null },
    canBorrow: { type: Boolean, default: false },
    maxBorrowTime: { type: Number, default: 0 },
    preventVm: { type: Boolean, default: false },
    metadata: { type: Mixed, default: () => ({}) },
    timeActivated: { type: Date, default: null },
    timeDisabled: { type: Date, default: null },
    lastCheck: { type: Date, default: null },
    /** The device a trial license was issued to by `trial_key` (absent on other licenses; see TrialsRepository). */
    trialHardwareId: { type: String },
    /** What the machine that started the trial through the Web API v3 reported (absent otherwise; see TrialsRepository). */
    trialMachine: { type: Mixed },
    /** Records written with a state change and moved to their collections right after (see server/domain/outbox-settler.ts). */
    outbox: { type: [Mixed], default: [] },
    createdAt: Date,
    updatedAt: Date,
  },
  { versionKey: false, minimize: false },
);
licenseSchema.index({ accountId: 1, productCode: 1, key: 1 });
licenseSchema.index({ accountId: 1, 'users.emailKey': 1 });
// The licenses a license user is assigned to (kept in step with the user's record, see license-users-repository.ts).
licenseSchema.index({ accountId: 1, 'users.id': 1 });
licenseSchema.index({ accountId: 1, productId: 1 });
licenseSchema.index({ productId: 1, key: 1 });
// One trial license per device and product: concurrent trial_key calls of a device insert one (TrialsRepository).
licenseSchema.index({ accountId: 1, productId: 1, trialHardwareId: 1 }, { unique: true, partialFilterExpression: { trialHardwareId: { $type: 'string' } } });
// Finds the documents with entries left in their outbox by equality on the entry kind (few documents
// have any: entries are moved right after the write), for the repair step.
licenseSchema.index({ 'outbox.kind': 1 }, { sparse: true });

const deviceSchema = schema(
  {
    _id: Number,
    activationId: { type: String, required: true },
    accountId: { type: Number, required: true },
    licenseId: { type: Number, required: true },
    productId: { type: Number, required: true },
    hardwareId: { type: String, required: true },
    active: { type: Boolean, default: false },
    blacklisted: { type: Boolean, default: false },
    /** A seat change in flight (see domain/devices.ts): `{ id, op, deadline }`, or null. */
    seatChange: { type: Mixed, default: null },
    os: { type: String, default: null },
    osVersion: { type: String, default: null },
    hostname: { type: String, default: null },
    vmName: { type: String, default: null },
    container: { type: Boolean, default: null },
    userHash: { type: String, default: null },
    appVersion: { type: String, default: null },
    releaseVersion: { type: String, default: null },
    releaseChannel: { type: String, default: null },
    releasePlatform: { type: String, default: null },
    releasePublishedAt: { type: Date, default: null },
    userId: { type: String, default: null },
    deviceId: { type: String, default: null },
    ipAddress: { type: String, default: null },
    leaseDuration: { type: Number, default: null },
    leaseExpiresAt: { type: Date, default: null },
    borrowedUntil: { type: Date, default: null },
    metadata: { type: [schema({ key: String, value: String }, sub)], default: [] },
    createdAt: Date,
    updatedAt: Date,
    lastSyncedAt: { type: Date, default: null },
    /** Events raised by changes of this document alone (see server/domain/event-outbox.ts). */
    outbox: { type: [Mixed], default: undefined },
  },
  { versionKey: false, minimize: false },
);
deviceSchema.index({ 'outbox.kind': 1 }, { sparse: true });
deviceSchema.index({ activationId: 1 }, { unique: true });
deviceSchema.index({ licenseId: 1, hardwareId: 1 }, { unique: true });
deviceSchema.index({ accountId: 1, licenseId: 1 });
// The leased seats of a license by their end, for taking the place of an expired one (see
// DeviceService.activate) and counting live ones; and of every license, for the sweep.
deviceSchema.index({ licenseId: 1, leaseExpiresAt: 1 });
deviceSchema.index({ leaseExpiresAt: 1 });
// The seat changes in flight, for the repair of those a crash left behind (few devices have one).
deviceSchema.index({ 'seatChange.deadline': 1 }, { sparse: true });

const ledgerSchema = schema(
  {
    _id: String,
    accountId: { type: Number, required: true },
    licenseId: { type: Number, required: true },
    scope: { type: String, required: true },
    featureCode: { type: String, default: null },
    deviceId: { type: Number, default: null },
    amount: { type: Number, required: true },
    totalAfter: { type: Number, default: null },
    periodResetAt: { type: Date, default: null },
    event: { type: String, required: true },
    requestId: { type: String, default: null },
    idempotencyKey: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
// One license's entries in ledger order (time, then id): usage sums over a range and ledger pages
// (server/db/usage-repository.ts) read only that license's range, in index order.
ledgerSchema.index({ accountId: 1, licenseId: 1, at: 1, _id: 1 });
// Whether an Idempotency-Key was applied, when a retry takes over the claim of a crashed request.
ledgerSchema.index({ idempotencyKey: 1, accountId: 1 });
// The retention job's walk over every license's entries in time order (server/db/ledger-retention-repository.ts).
ledgerSchema.index({ at: 1 });

/**
 * Sums of one counter's ledger entries of one event in one 15-minute UTC slot, written by the
 * retention job before it deletes them (see domain/ledger-retention.ts); `_id` is the JSON array of
 * the key, so a rollup is written once.
 */
const ledgerRollupSchema = schema(
  {
    _id: String,
    accountId: { type: Number, required: true },
    licenseId: { type: Number, required: true },
    scope: { type: String, required: true },
    featureCode: { type: String, default: null },
    deviceId: { type: Number, default: null },
    event: { type: String, required: true },
    slot: { type: Date, required: true },
    consumed: { type: Number, required: true },
    refunded: { type: Number, required: true },
    net: { type: Number, required: true },
    count: { type: Number, required: true },
  },
  { versionKey: false },
);
// One license's rollups in time order: usage reports read the range before the mark.
ledgerRollupSchema.index({ accountId: 1, licenseId: 1, slot: 1 });

const idempotencySchema = schema(
  {
    _id: String, // `${accountId}:${key}`
    accountId: { type: Number, required: true },
    requestHash: { type: String, required: true },
    status: { type: Number, default: null },
    body: { type: Mixed, default: null },
    completedAt: { type: Date, default: null },
    /** While a request holds the key and has not completed: until when its claim is honoured. */
    lockedUntil: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);
idempotencySchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

/** Domain events (e.g. `activation.updated`) recorded for webhook delivery. */
const eventSchema = schema(
  {
    _id: String, // uuid
    accountId: { type: Number, required: true },
    type: { type: String, required: true },
    subject: { type: String, required: true },
    data: { type: Mixed, required: true },
    createdAt: { type: Date, required: true },
    /** Order in which events were recorded (deliveries of one subject follow it). */
    seq: { type: Number, default: null },
    /** False until a delivery exists for every matching webhook subscription. */
    fannedOut: { type: Boolean, default: null },
  },
  { versionKey: false, minimize: false },
);
eventSchema.index({ accountId: 1, createdAt: 1 });
eventSchema.index({ subject: 1, createdAt: 1 });
eventSchema.index({ fannedOut: 1, seq: 1 });
// Kept 30 days (MongoDB's TTL monitor deletes older ones): deliveries are retried for about 33 h at most.
eventSchema.index({ createdAt: 1 }, { expireAfterSeconds: WEBHOOK_RETENTION_SECONDS });

/** Named sequences (`$inc` on one document per name). */
const counterSchema = schema({ _id: String, value: { type: Number, default: 0 } }, { versionKey: false });

/** Webhook subscriptions of an account; the signing secret is sealed (it must be recoverable to sign). */
const webhookSubscriptionSchema = schema(
  {
    _id: String,
    accountId: { type: Number, required: true },
    url: { type: String, required: true },
    events: { type: [String], default: [] },
    active: { type: Boolean, default: true },
    signatureScheme: { type: String, required: true },
    sealedSecret: { type: String, required: true },
    healthy: { type: Boolean, default: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);
webhookSubscriptionSchema.index({ accountId: 1, createdAt: 1 });

/** One event to one subscription: its status, its next attempt, the lease of the dispatcher attempting it, and its attempt log. */
const webhookDeliverySchema = schema(
  {
    _id: String,
    accountId: { type: Number, required: true },
    subscriptionId: { type: String, required: true },
    eventId: { type: String, required: true },
    eventType: { type: String, required: true },
    lane: { type: String, required: true },
    seq: { type: Number, required: true },
    status: { type: String, required: true },
    attemptCount: { type: Number, default: 0 },
    nextAttemptAt: { type: Date, default: null },
    leaseUntil: { type: Date, default: null },
    leaseOwner: { type: String, default: null },
    attempts: { type: [Mixed], default: [] },
    createdAt: { type: Date, required: true },
    completedAt: { type: Date, default: null },
  },
  { versionKey: false, minimize: false },
);
webhookDeliverySchema.index({ status: 1, nextAttemptAt: 1 });
webhookDeliverySchema.index({ lane: 1, status: 1, seq: 1 });
webhookDeliverySchema.index({ subscriptionId: 1, createdAt: -1 });
// A finished delivery (delivered, failed or cancelled) is kept 30 days; a pending one (completedAt null) until it finishes.
webhookDeliverySchema.index({ completedAt: 1 }, { expireAfterSeconds: WEBHOOK_RETENTION_SECONDS });

/**
 * The slots of floating license features (see domain/feature-slots.ts): one document per slot,
 * `_id` `<licenseId>:<featureCode>:<slot>`, so a slot number has one holder; a device holds at most
 * one slot of a feature (unique index).
 */
const featureSlotSchema = schema(
  {
    _id: String,
    accountId: { type: Number, required: true },
    licenseId: { type: Number, required: true },
    featureCode: { type: String, required: true },
    slot: { type: Number, required: true },
    deviceId: { type: Number, required: true },
    leaseExpiresAt: { type: Date, default: null },
    borrowedUntil: { type: Date, default: null },
    updatedAt: Date,
  },
  { versionKey: false, minimize: false },
);
featureSlotSchema.index({ licenseId: 1, featureCode: 1, deviceId: 1 }, { unique: true });
featureSlotSchema.index({ licenseId: 1, deviceId: 1 });

/**
 * License users of an account (domain LicenseUserRecord): `emailKey` is the lower-cased email, unique
 * in the account. Licenses list the users assigned to them in their own `users`.
 */
const licenseUserRecordSchema = schema(
  {
    _id: Number,
    accountId: { type: Number, required: true },
    email: { type: String, required: true },
    emailKey: { type: String, required: true },
    passwordHash: { type: String, required: true },
    isInitialPassword: { type: Boolean, default: true },
    firstName: { type: String, default: '' },
    lastName: { type: String, default: '' },
    phoneNumber: { type: String, default: '' },
    isActive: { type: Boolean, default: true },
    metadata: { type: Mixed, default: () => ({}) },
    lastLogin: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);
licenseUserRecordSchema.index({ accountId: 1, emailKey: 1 }, { unique: true });
licenseUserRecordSchema.index({ accountId: 1, createdAt: 1 });

/** Settings of the deployment, one document each (`secrets-canary`: the canary sealed with the secrets key, see domain/sealing-key.ts). */
const settingSchema = schema({ _id: String, value: { type: Mixed, required: true }, createdAt: { type: Date, required: true } }, { versionKey: false, minimize: false });

/** Models are used untyped here; repositories map lean documents to the domain's types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModel = Model<any>;

export interface Models {
  Account: AnyModel;
  Product: AnyModel;
  License: AnyModel;
  Device: AnyModel;
  LedgerEntry: AnyModel;
  LedgerRollup: AnyModel;
  IdempotencyRecord: AnyModel;
  Event: AnyModel;
  Counter: AnyModel;
  WebhookSubscription: AnyModel;
  WebhookDelivery: AnyModel;
  Setting: AnyModel;
  FeatureSlot: AnyModel;
  LicenseUser: AnyModel;
}

export function registerModels(connection: Connection): Models {
  const model = (name: string, schema: Schema, collection: string): AnyModel =>
    (connection.models[name] as AnyModel | undefined) ?? (connection.model(name, schema, collection) as AnyModel);
  return {
    Account: model('Account', accountSchema, 'accounts'),
    Product: model('Product', productSchema, 'products'),
    License: model('License', licenseSchema, 'licenses'),
    Device: model('Device', deviceSchema, 'devices'),
    LedgerEntry: model('LedgerEntry', ledgerSchema, 'ledger'),
    LedgerRollup: model('LedgerRollup', ledgerRollupSchema, 'ledger_rollups'),
    IdempotencyRecord: model('IdempotencyRecord', idempotencySchema, 'idempotency'),
    Event: model('Event', eventSchema, 'events'),
    Counter: model('Counter', counterSchema, 'counters'),
    WebhookSubscription: model('WebhookSubscription', webhookSubscriptionSchema, 'webhook_subscriptions'),
    WebhookDelivery: model('WebhookDelivery', webhookDeliverySchema, 'webhook_deliveries'),
    Setting: model('Setting', settingSchema, 'settings'),
    FeatureSlot: model('FeatureSlot', featureSlotSchema, 'feature_slots'),
    LicenseUser: model('LicenseUser', licenseUserRecordSchema, 'license_users'),
  };
}
