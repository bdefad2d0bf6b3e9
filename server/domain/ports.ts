/**
 * The ports of the domain: the data it exchanges with persistence, and the repository interfaces it
 * needs. `server/db/` implements them (and may import the domain); the domain never imports
 * `server/db/`, `server/http/` or `server/webhooks/` (checked by `npm run lint`, .dependency-cruiser.cjs).
 */
import type { ThresholdExpectation } from './consumption-alerts.js';
import type { EventOutboxEntry, RecordedEvent } from './events.js';
import type { Account, CredentialKind, Device, LedgerEntry, License, LicenseFeature, LicenseUser, LicenseUserRecord, Product, ProductFeature, SeatChange } from './types.js';

// ---- Data exchanged with persistence ----

/** Which license a call names: its id, or its product short code plus key or license user. */
export type LicenseLocator =
  | { licenseId: number }
  | { productCode: string; key: string }
  | { productCode: string; username: string };

export type SeatLocator = { hardwareId: string } | { activationId: string };

/**
 * A seat as a write relies on it: the device read as holding it (active, not blacklisted), and the
 * license's `seatEpoch` read before that device. The write is guarded by the epoch: if any seat of the
 * license was taken away since, it matches nothing and the seat is read again.
 */
export interface HeldSeat {
  deviceId: number;
  activationId: string;
  seatEpoch: number;
  /** The seat's lease end as read: a seat read before is used only until then (then read again: isSeatLive). */
  leaseExpiresAt: Date | null;
}

export type MeterTarget = { scope: 'license' } | { scope: 'feature'; code: string };

/** One guarded change to one counter. Every condition is in the filter; the change is one `$inc`. */
export interface MeterChange {
  accountId: number;
  license: LicenseLocator;
  target: MeterTarget;
  amount: number;
  now: Date;
  /** The seat the change is made through (it must still be held: see HeldSeat). */
  seat?: HeldSeat;
  /** Also count the change in this device's own uses of the feature (Web API v3 meter attributes). */
  deviceUses?: number;
  /** `policy`: a negative amount needs the meter's allowNegative; `floor-only`: decrements are always allowed down to 0. */
  negatives: 'policy' | 'floor-only';
  /** The license-level meter only counts on consumption licenses. */
  requireConsumptionLicense?: boolean;
  /** Tighten (never loosen) the overage allowance for this call. */
  overageCap?: { allowOverages?: boolean | undefined; maxOverages?: number | undefined } | undefined;
  /**
   * The write applies only before this moment on the database's clock (`$$NOW`): the fence of a
   * request holding an Idempotency-Key claim (see domain/idempotency.ts), so that once its claim may
   * be taken over, none of its writes can still land.
   */
  deadline?: Date | undefined;
  outbox: OutboxEntry;
  /** Event intents recorded in the same write (see domain/event-outbox.ts). */
  events?: EventOutboxEntry[] | undefined;
  /**
   * The alert thresholds the change expects to reach (see consumption-alerts.ts; none when left
   * out): the write is guarded by them, records them alerted, and `events` carries their events.
   */
  thresholds?: ThresholdExpectation | undefined;
}

/**
 * Several feature counters of one license changed together by one activation (Web API v3 activation
 * update): every guard of every change is in one filter, and all changes are one `$inc`, so either
 * all apply or none does.
 */
export interface MultiFeatureChange {
  accountId: number;
  licenseId: number;
  /** The activation's seat (must still be held). */
  seat: HeldSeat;
  /** The device whose own uses change too. */
  deviceUses: number;
  /**
   * One entry per feature code (codes must be distinct), with the feature's position in the
   * license's `features` as read: the update addresses `features.<index>` (guarded by the code at
   * that position), since several `$[identifier]` paths to the same field are not accepted by every
   * engine.
   */
  changes: Array<{ code: string; index: number; amount: number; outbox: OutboxEntry; thresholds?: ThresholdExpectation | undefined }>;
  negatives: 'policy' | 'floor-only';
  now: Date;
  /** Event intents recorded in the same write. */
  events?: EventOutboxEntry[] | undefined;
}

/** A license as a write (or a read) returned it, with the ledger entries still pending in its outbox, oldest first. */
export interface LicenseWithPending {
  license: License;
  pending: OutboxEntry[];
  /**
   * Set by a counter write that returned only what its answer needs: `license.features` then holds
   * only the feature it changed (none for a license-level change), and `license.users` is empty.
   */
  narrowed?: boolean;
}

/** A ledger entry waiting in a license document's outbox, written in the same atomic update as the counter change it records. */
export interface OutboxEntry {
  id: string;
  kind: 'ledger';
  at: Date;
  /**
   * The ledger entry, complete but for what only the write decides: the resulting total, and (when
   * null) the period and the device, filled in by completeLedgerEntries (domain/ledger-entries.ts)
   * from the license as the write left it.
   */
  ledger: Omit<LedgerEntry, 'totalAfter'>;
}

/** The license write of a seat change (see SeatChange), kept in the license's outbox until the device has followed. */
export interface SeatOutboxEntry {
  id: string;
  kind: 'seat';
  at: Date;
  deviceId: number;
  op: SeatChange['op'];
}

/** Any entry of a document's outbox: a ledger entry, an event intent (see domain/event-outbox.ts), or a seat change. */
export type AnyOutboxEntry = OutboxEntry | EventOutboxEntry | SeatOutboxEntry;

/** A ledger outbox entry of a license to move into the ledger, with the total it resulted in (null when unknown). */
export interface LedgerMove {
  licenseId: number;
  entry: OutboxEntry;
  totalAfter: number | null;
}

/** Where an outbox entry lives: the license document or the device document it was written with. */
export type OutboxOwner = { licenseId: number } | { deviceId: number };

/** Entries left in one document's outbox (by a crash between the write and the move). */
export interface StrandedEntries {
  owner: OutboxOwner;
  /** The license the entries are about (the device's license for a device document). */
  licenseId: number;
  /**
   * Every ledger entry pending in a license document's outbox, old or not (they leave an outbox
   * only as a prefix, so a repair moves them all), with the license as read with them.
   */
  ledger: OutboxEntry[];
  license?: License | undefined;
  /** The event entries written before the cut-off. */
  events: EventOutboxEntry[];
}

export type DeviceDetails = Partial<Omit<Device, 'id' | 'activationId' | 'accountId' | 'licenseId' | 'productId' | 'hardwareId' | 'createdAt'>>;

export interface StoredSigningKey {
  kid: string;
  publicKeyPem: string;
  publicJwk: Record<string, unknown>;
  sealedPrivateKeyPem: string;
  active: boolean;
  createdAt: Date;
}

export interface NewAccountRecord {
  id: number;
  name: string;
  managementKeyHashes: string[];
  licenseApiKeys: Array<{ hash: string; sealedSharedKey: string }>;
  accessTokens: Array<{ hash: string; scopes: string[] }>;
  signingKeys: StoredSigningKey[];
  createdAt: Date;
}

/** One stored credential as persistence keeps it: the secret's hash, and for a License API key its sealed shared key. */
export type StoredCredential =
  | { kind: 'management'; hash: string; createdAt: Date | null }
  | { kind: 'license-api'; hash: string; sealedSharedKey: string; createdAt: Date | null }
  | { kind: 'v3-token'; hash: string; scopes: string[]; createdAt: Date | null };

/** A recorded event with its recording order. */
export interface SequencedEvent extends RecordedEvent {
  seq: number;
}

/** A stored idempotency key: who holds it, for which request, and (once completed) the response. */
export interface IdempotencyRecord {
  accountId: number;
  key: string;
  requestHash: string;
  /** Null while the first request with the key is still running. */
  response: { status: number; body: string } | null;
  lockedUntil: Date | null;
  expiresAt: Date;
}

/**
 * `takenOver`: the claim of an earlier request with the same key and body whose lock lapsed (its
 * process died or it hangs) was taken over; that request may have made its change.
 */
export type ClaimOutcome = { claimed: true; takenOver?: IdempotencyRecord } | { claimed: false; record: IdempotencyRecord };

/** Non-counter fields of a license feature that `update_features` may set. */
export interface FeatureFieldChanges {
  expiryDate?: Date | null;
  metadata?: Record<string, unknown>;
  isFloating?: boolean;
  isFloatingCloud?: boolean;
  floatingUsers?: number;
  floatingTimeout?: number | null;
}

/** One listed feature: merged into the stored one if the license has it when the write applies, else inserted as `whenNew`. */
export interface FeatureUpsert {
  code: string;
  meter: MeterFieldChanges;
  fields: FeatureFieldChanges;
  /** Sets the counter; omitted keeps the stored counter exactly as it is at write time. */
  total?: number;
  whenNew: LicenseFeature;
}

/** Plain (non-counter) license fields a management update may set. */
export type LicenseFieldChanges = Partial<
  Pick<
    License,
    | 'type'
    | 'enabled'
    | 'isTrial'
    | 'validUntil'
    | 'maxActivations'
    | 'isFloating'
    | 'isFloatingCloud'
    | 'floatingUsers'
    | 'floatingTimeout'
    | 'canBorrow'
    | 'maxBorrowTime'
    | 'preventVm'
    | 'metadata'
    | 'timeDisabled'
    | 'maxLicenseUsers'
  >
>;

/** A license after a write, with the ledger entries the write put in its outbox, ready to be moved. */
export interface LicenseWithLedger {
  license: License;
  ledger: LedgerMove[];
}

/** The meter document fields a settings change may set (never `total`, `gross`, `ceiling`, `resetAt`). */
export interface MeterFieldChanges {
  max?: number;
  unlimited?: boolean;
  allowNegative?: boolean;
  allowOverages?: boolean;
  maxOverages?: number;
  reset?: boolean;
  period?: string | null;
  /** Ascending (normalizeAlertThresholds). */
  alertThresholds?: number[];
}

/** A floating feature's uses by the device being released, as last read (0 when it has none). */
export interface FloatingUses {
  code: string;
  /** The feature's position in the license's `features` as read (guarded by its code). */
  index: number;
  uses: number;
}

export type SignatureScheme = 'standard-webhooks' | 'vendor';

export interface WebhookSubscription {
  id: string;
  accountId: number;
  url: string;
  events: string[];
  active: boolean;
  signatureScheme: SignatureScheme;
  healthy: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type SubscriptionChanges = Partial<Pick<WebhookSubscription, 'url' | 'events' | 'active' | 'signatureScheme'>>;

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface DeliveryAttempt {
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  accountId: number;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  /** Deliveries of one lane (subscription + event subject) are made in `seq` order. */
  lane: string;
  seq: number;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: Date | null;
  leaseUntil: Date | null;
  leaseOwner: string | null;
  attempts: DeliveryAttempt[];
  createdAt: Date;
  completedAt: Date | null;
}

/** Outcome of an attempt, applied only by the dispatcher holding the lease. */
export interface AttemptOutcome {
  attempt: DeliveryAttempt;
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

/** The fields of a ledger entry every entry of one write shares (Management API writes). */
export type LedgerTemplate = Omit<LedgerEntry, 'id' | 'totalAfter' | 'amount' | 'featureCode' | 'scope'>;

// ---- Repository ports ----

export interface AccountsPort {
  insert(record: NewAccountRecord): Promise<Account>;
  findById(id: number): Promise<Account | null>;
  findByName(name: string): Promise<Account | null>;
  findFirst(): Promise<Account | null>;
  count(): Promise<number>;
  findByManagementKeyHash(hash: string): Promise<{ account: Account; storedHash: string } | null>;
  findByLicenseApiKeyHash(hash: string): Promise<{ account: Account; storedHash: string; sealedSharedKey: string } | null>;
  findByAccessTokenHash(hash: string): Promise<{ account: Account; storedHash: string; scopes: string[] } | null>;
  addCredentials(
    accountId: number,
    credentials: { managementKeyHash?: string; licenseApiKey?: { hash: string; sealedSharedKey: string }; accessToken?: { hash: string; scopes: string[] } },
    now: Date,
  ): Promise<void>;
  signingKeys(accountId: number): Promise<StoredSigningKey[]>;
  /** Every account, oldest first. */
  list(): Promise<Account[]>;
  /** The account's stored credentials (every kind), or null when there is no such account. */
  credentials(accountId: number): Promise<StoredCredential[] | null>;
  /** Adds one credential; false when there is no such account. */
  addCredential(accountId: number, credential: StoredCredential): Promise<boolean>;
  /** Replaces every credential of `kind` with `next` (none: removes them all) in one update; false when there is no such account. */
  replaceCredentials(accountId: number, kind: CredentialKind, next: StoredCredential | null): Promise<boolean>;
  /** Removes the credential of `kind` with `hash`; false when the account holds none such. */
  removeCredential(accountId: number, kind: CredentialKind, hash: string): Promise<boolean>;
  allActivePublicKeys(): Promise<Array<{ accountId: number; key: StoredSigningKey }>>;
}

/** What the start-up check of the sealing key reads and writes (see domain/sealing-key.ts). */
export interface SealingKeyPort {
  /** The sealed canary, or null while none was written. */
  findCanary(): Promise<string | null>;
  /** Stores `sealed` as the canary unless one is stored already; returns the canary stored. */
  insertCanary(sealed: string, now: Date): Promise<string>;
  /** Any one secret the database holds sealed (a shared key, a signing key, a webhook secret), or null when it holds none. */
  anySealedSecret(): Promise<string | null>;
}

export interface ProductsPort {
  insert(product: Product): Promise<Product | null>;
  /** The product with this id: of the account, or (accountId undefined) of whichever account has it (ids are unique). */
  findById(accountId: number | undefined, id: number): Promise<Product | null>;
  findByShortCode(accountId: number, shortCode: string): Promise<Product | null>;
  exists(accountId: number, shortCode: string): Promise<boolean>;
  list(accountId: number, skip: number, limit: number): Promise<{ items: Product[]; count: number }>;
  update(accountId: number, id: number, changes: Partial<Pick<Product, 'name' | 'allowTrial' | 'trialDays'>>, now: Date): Promise<Product | null>;
  addFeature(accountId: number, productId: number, feature: ProductFeature, now: Date): Promise<'added' | 'code_taken' | 'product_not_found'>;
}

/** A filter of license lists (equality on stored fields). */
export type LicenseListFilter = Record<string, unknown>;

export interface LicensesPort {
  insert(license: License): Promise<License>;
  findById(accountId: number, id: number): Promise<License | null>;
  findByProductAndKey(productId: number, key: string, accountId?: number): Promise<License | null>;
  markChecked(licenseId: number, at: Date): Promise<void>;
  keyTaken(accountId: number, productCode: string, key: string): Promise<boolean>;
  list(accountId: number, filter: LicenseListFilter, skip: number, limit: number): Promise<{ items: License[]; count: number }>;
}

/** The profile fields of a license user a management change may set. */
export type LicenseUserFieldChanges = Partial<Pick<LicenseUserRecord, 'email' | 'firstName' | 'lastName' | 'phoneNumber' | 'isActive' | 'metadata'>>;

/**
 * License users (their records) and their assignments to licenses (the licenses' `users`). Every
 * change of a record that a license shows is copied to the licenses it is assigned to.
 */
export interface LicenseUsersPort {
  /** Null when the email is taken in the account (ignoring case). */
  insert(user: LicenseUserRecord): Promise<LicenseUserRecord | null>;
  findById(accountId: number, id: number): Promise<LicenseUserRecord | null>;
  /** By email, ignoring case. */
  findByEmail(accountId: number, email: string): Promise<LicenseUserRecord | null>;
  list(accountId: number, filter: { email?: string | undefined }, skip: number, limit: number): Promise<{ items: LicenseUserRecord[]; count: number }>;
  /** The changed record; null when there is none; `email_taken` when the new email is another user's. */
  update(accountId: number, id: number, changes: LicenseUserFieldChanges, now: Date): Promise<LicenseUserRecord | null | 'email_taken'>;
  setPassword(accountId: number, id: number, passwordHash: string, isInitialPassword: boolean, now: Date): Promise<LicenseUserRecord | null>;
  recordLogin(accountId: number, id: number, at: Date): Promise<void>;
  /** Removes the user from every license, then its record; false when there was none. */
  remove(accountId: number, id: number): Promise<boolean>;
  /** How many licenses the user is assigned to. */
  licenseCount(accountId: number, id: number): Promise<number>;
  /**
   * Adds the user to the license's `users`, guarded by what the caller read: the license is
   * user-based, has `usersAsRead` users and the limit `maxLicenseUsers`, and lacks this user.
   * False when any of it changed (read again and retry).
   */
  assign(accountId: number, licenseId: number, entry: LicenseUser, asRead: { usersAsRead: number; maxLicenseUsers: number }, now: Date): Promise<boolean>;
  /** Removes the user from the license's `users`; false when it was not there. */
  unassign(accountId: number, licenseId: number, userId: number, now: Date): Promise<boolean>;
}

/** Whether the account has a product with this short code (to tell `product_not_found` from `license_not_found`). */
export interface ProductLookup {
  productExists(accountId: number, shortCode: string): Promise<boolean>;
}

/** The guarded atomic counter writes on a license: the filters and updates of domain/license-rules.ts, executed by server/db/license-meters.ts. */
export interface LicenseMetersPort {
  apply(change: MeterChange): Promise<LicenseWithPending | null>;
  applyMany(multi: MultiFeatureChange): Promise<LicenseWithPending | null>;
  find(accountId: number, locator: LicenseLocator): Promise<(License & { pending: OutboxEntry[] }) | null>;
  /** Starts the meter's next period if it is still due as read; the license after it (narrowed to the meter), or null when another caller reset it. */
  resetPeriod(accountId: number, licenseId: number, target: MeterTarget, due: { resetAt: Date; total: number }, nextResetAt: Date, now: Date): Promise<LicenseWithPending | null>;
}

export interface LicenseAdminPort {
  replaceFeatures(accountId: number, licenseId: number, upserts: FeatureUpsert[], ledger: LedgerTemplate, events?: EventOutboxEntry[]): Promise<LicenseWithLedger | null>;
  updateLicense(accountId: number, licenseId: number, fields: LicenseFieldChanges, meter: MeterFieldChanges | undefined, now: Date, events?: EventOutboxEntry[]): Promise<License | null>;
  resetConsumption(accountId: number, licenseId: number, ledger: LedgerTemplate, events?: EventOutboxEntry[]): Promise<LicenseWithLedger | null>;
}

export interface DevicesPort {
  /** The device of this hardware id on the license, created (with `fresh()`'s ids) when it has none. */
  upsert(base: Pick<Device, 'accountId' | 'licenseId' | 'productId' | 'hardwareId'>, fresh: () => Pick<Device, 'id' | 'activationId'>, now: Date): Promise<Device>;
  update(accountId: number, deviceId: number, details: DeviceDetails, now: Date, events?: EventOutboxEntry[]): Promise<Device | null>;
  findById(accountId: number, deviceId: number): Promise<Device | null>;
  findByActivationId(activationId: string): Promise<Device | null>;
  findByHardwareId(licenseId: number, hardwareId: string): Promise<Device | null>;
  list(accountId: number, filter: Record<string, unknown>, skip: number, limit: number): Promise<{ items: Device[]; count: number }>;
  setBlacklisted(accountId: number, deviceId: number, blacklisted: boolean, now: Date): Promise<Device | null>;
  /**
   * Starts a seat change on the device: `take` needs it inactive and not blacklisted, `release` needs
   * it active; either needs no other change in flight. `expiredAt`: a release that reclaims an
   * expired seat, only while the lease end is still this one (no renewal since it was read). Null when
   * those do not hold.
   */
  beginSeatChange(accountId: number, deviceId: number, change: SeatChange, expiredAt?: Date): Promise<Device | null>;
  /** Ends the device's seat change `changeId`: `active` is its seat as the change left it (undefined: unchanged). Null when the change is not the device's. */
  endSeatChange(accountId: number, deviceId: number, changeId: string, active: boolean | undefined, now: Date, details?: DeviceDetails): Promise<Device | null>;
  /** Devices whose seat change's deadline passed before `before` (left by a crash). */
  staleSeatChanges(before: Date, limit: number): Promise<Device[]>;
  /** A seat of the license that expired at `now` and that nobody is changing (expiredSeatFilter), the earliest expired first; null when none. */
  findExpiredSeat(licenseId: number, now: Date): Promise<Device | null>;
  /** Expired seats of any license (expiredSeatFilter), for the sweep. */
  expiredSeats(now: Date, limit: number): Promise<Device[]>;
  /** How many of the license's seats are live at `now` (liveSeatFilter). */
  countLiveSeats(licenseId: number, now: Date): Promise<number>;
  /**
   * Renews the device's seat: sets `details` (its new lease) if it still holds the seat with no seat
   * change in flight and its lease end is still `leaseAsRead` (a reclaim, or another renewal, in
   * between makes it match nothing: null). `events` go into the device's outbox.
   */
  renewSeat(accountId: number, deviceId: number, leaseAsRead: Date | null, details: DeviceDetails, now: Date, events?: EventOutboxEntry[]): Promise<Device | null>;
  /**
   * Records a sync of the device's seat at `now` (a meter attribute change through it): `updatedAt`
   * and `lastSyncedAt` move to `now`, never back (concurrent syncs end at the latest). Null when the
   * device holds no seat.
   */
  syncSeat(accountId: number, deviceId: number, now: Date): Promise<Device | null>;
}

/** An expired seat whose place a take gives to another device: its device, its release change and its floating uses as read. */
export interface ReplacedSeat {
  deviceId: number;
  change: SeatChange;
  floating: FloatingUses[];
}

/** The license side of seat changes (see SeatChange): each one guarded write on the license document. */
export interface ActivationSeatsPort {
  /**
   * Takes a seat for the device if the license is usable and `timesActivated < seatLimitOf(license)`,
   * before `change.deadline`; or, with `replacing`, in the place of that expired seat (released in the
   * same write, guarded by its floating uses as read; the count stays).
   */
  take(accountId: number, licenseId: number, deviceId: number, change: SeatChange, now: Date, events?: EventOutboxEntry[], replacing?: ReplacedSeat): Promise<LicenseWithPending | null>;
  /** Gives the device's seat back with its floating uses (guarded by them as read), before `change.deadline`; raises the seat epoch. */
  release(accountId: number, licenseId: number, deviceId: number, floating: FloatingUses[], change: SeatChange, now: Date, events?: EventOutboxEntry[]): Promise<LicenseWithPending | null>;
  /** Raises the license's seat epoch (a seat was taken away without a release: blacklisting). */
  raiseSeatEpoch(accountId: number, licenseId: number, now: Date): Promise<void>;
  /** Whether the license's outbox holds the seat entry of change `changeId` (its license write applied and the device has not followed yet). */
  hasSeatEntry(licenseId: number, changeId: string): Promise<boolean>;
  /** Removes the seat entry of a change once the device followed it. */
  removeSeatEntry(licenseId: number, changeId: string): Promise<void>;
  /** Seat entries written before `olderThan` and still in license outboxes (the device may not have followed). */
  strandedSeatEntries(olderThan: Date, limit: number): Promise<Array<SeatOutboxEntry & { licenseId: number; accountId: number }>>;
}

export interface LedgerPort {
  insertMoves(moves: LedgerMove[]): Promise<void>;
  findByIdempotencyKey(accountId: number, key: string, since: Date): Promise<LedgerEntry | null>;
  entriesFor(accountId: number, licenseId: number): Promise<LedgerEntry[]>;
}

/** The ledger as its retention job sees it (see domain/ledger-retention.ts). */
export interface LedgerRetentionPort {
  /** The mark: entries before it are summarised into rollups (null: none ever were). */
  summarisedBefore(): Promise<Date | null>;
  /** The time of the oldest ledger entry still in a license outbox, if one is older than `before`. */
  oldestPendingEntry(before: Date): Promise<Date | null>;
  /** The time of the first entry in `[from, to)` and of the `n`-th (null when there are fewer), in time order. */
  entryTimes(from: Date, to: Date, n: number): Promise<{ first: Date | null; last: Date | null }>;
  /**
   * Inserts the rollup of every counter and slot of `[from, to)` (whole slots) from all of their
   * entries; a rollup already stored is kept as it is. Returns how many were computed.
   */
  insertRollups(from: Date, to: Date): Promise<number>;
  /** Moves the mark to `to` (never back). */
  moveMark(to: Date): Promise<void>;
  /** Deletes every entry before `before`; returns how many. */
  deleteEntriesBefore(before: Date): Promise<number>;
}

export interface OutboxPort {
  remove(moved: Array<{ owner: OutboxOwner; entryIds: string[] }>): Promise<void>;
  stranded(olderThan: Date, limit?: number): Promise<StrandedEntries[]>;
}

export interface EventsPort {
  reserveSeqs(count: number): Promise<number>;
  insertMany(events: Array<SequencedEvent & { fannedOut: boolean }>): Promise<SequencedEvent[]>;
  get(id: string): Promise<SequencedEvent | null>;
  pendingFanOut(limit: number): Promise<SequencedEvent[]>;
  markFannedOut(ids: string[]): Promise<void>;
  list(accountId: number, filter?: { subject?: string; type?: string }): Promise<RecordedEvent[]>;
}

export interface IdempotencyPort {
  claim(accountId: number, key: string, requestHash: string, now: Date, lockedUntil: Date, expiresAt: Date): Promise<ClaimOutcome>;
  find(accountId: number, key: string): Promise<IdempotencyRecord | null>;
  complete(accountId: number, key: string, requestHash: string, response: { status: number; body: string }, now: Date): Promise<void>;
  release(accountId: number, key: string, requestHash: string): Promise<void>;
  /** Keeps a running request's claim, locked until `lockedUntil` (sooner than its lock): then another request may take it over. */
  holdUntil(accountId: number, key: string, requestHash: string, lockedUntil: Date): Promise<void>;
}

export interface WebhookSubscriptionsPort {
  insert(subscription: WebhookSubscription, sealedSecret: string): Promise<void>;
  get(accountId: number, id: string): Promise<WebhookSubscription | null>;
  getForDelivery(id: string): Promise<(WebhookSubscription & { sealedSecret: string }) | null>;
  list(accountId: number): Promise<WebhookSubscription[]>;
  update(accountId: number, id: string, changes: SubscriptionChanges & { sealedSecret?: string }, now: Date): Promise<WebhookSubscription | null>;
  delete(accountId: number, id: string): Promise<boolean>;
  activeOf(accountIds: number[]): Promise<WebhookSubscription[]>;
  setHealthy(id: string, healthy: boolean): Promise<void>;
}

export interface WebhookDeliveriesPort {
  createFor(pairs: Array<{ event: SequencedEvent; subscription: Pick<WebhookSubscription, 'id'> }>, now: Date): Promise<void>;
  claim(owner: string, now: Date, leaseMs: number): Promise<WebhookDelivery | null>;
  earlierPending(delivery: WebhookDelivery): Promise<boolean>;
  postpone(delivery: WebhookDelivery, owner: string, until: Date): Promise<void>;
  recordAttempt(delivery: WebhookDelivery, owner: string, outcome: AttemptOutcome, now: Date): Promise<boolean>;
  cancel(delivery: WebhookDelivery, now: Date): Promise<void>;
  cancelAllOf(subscriptionId: string, now: Date): Promise<void>;
  list(accountId: number, subscriptionId: string, limit: number): Promise<WebhookDelivery[]>;
  redeliver(accountId: number, subscriptionId: string, id: string, now: Date): Promise<WebhookDelivery | null>;
}
