import type { MeterState } from './meter.js';
import type { ConsumptionPeriod } from './periods.js';

/** Plain domain objects, as repositories return them. Ids are the public numeric ids. */

export interface Account {
  id: number;
  name: string;
  createdAt: Date;
}

/**
 * The kinds of an account's credentials: the Management API key, the License API key with its shared
 * key (one pair), and the Web API v3 access token. An account may hold several of each kind.
 */
export const CREDENTIAL_KINDS = ['management', 'license-api', 'v3-token'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export type FeatureType = 'activation' | 'consumption';

export interface ProductFeature {
  id: number;
  code: string;
  name: string;
  featureType: FeatureType;
  /** Defaults a license feature starts from. */
  maxConsumption: number;
  allowOverages: boolean;
  maxOverages: number;
  resetConsumption: boolean;
  consumptionPeriod: ConsumptionPeriod | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface Product {
  id: number;
  accountId: number;
  name: string;
  /** What the License API calls `product`; unique per account and immutable. */
  shortCode: string;
  /** The License API's `trial_key` issues trial licenses for the product (see server/domain/trials.ts). */
  allowTrial: boolean;
  /** Days a trial license is valid from its creation (at least 1 while `allowTrial`). */
  trialDays: number;
  features: ProductFeature[];
  createdAt: Date;
  updatedAt: Date;
}

export type LicenseType = 'perpetual' | 'time-limited' | 'subscription' | 'consumption';

export interface LicenseFeature extends MeterState {
  id: number;
  productFeatureId: number;
  code: string;
  name: string;
  featureType: FeatureType;
  expiryDate: Date | null;
  metadata: Record<string, unknown>;
  isFloating: boolean;
  isFloatingCloud: boolean;
  floatingUsers: number;
  floatingTimeout: number | null;
  /** Current uses per activation (device id as string), kept in the same document as `total`. */
  uses: Record<string, number>;
}

/** A device bound to a license: the license document's own list is the truth for limits and checks. */
/**
 * A change of a device's seat in flight (see DeviceService): taken by the device document before the
 * license write that takes or releases the seat, dropped after it. Its id is that of the `seat` entry
 * the license write puts in the license's outbox; the license write applies only before `deadline`.
 */
export interface SeatChange {
  id: string;
  op: 'take' | 'release';
  deadline: Date;
  /** A take's requested lease (seconds, null: none; absent: not asked), for the repair to lease the seat as the request would have. */
  leaseDuration?: number | null;
}

/**
 * A license user as a license lists it (its `users`): the user's id and a copy of the profile fields
 * the license object shows, kept in step with the user's record (LicenseUserRecord) by every change
 * of it. The password is only on the record.
 */
export interface LicenseUser {
  id: number;
  email: string;
  /** The email as logins match it (lower case, trimmed): see emailKeyOf. */
  emailKey: string;
  firstName: string;
  lastName: string;
  phoneNumber?: string | undefined;
  isActive: boolean;
  isInitialPassword?: boolean | undefined;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A license user of an account (Management API `license-users`): logs in to the user-based licenses
 * it is assigned to with its email and password. The email is unique in the account, ignoring case.
 */
export interface LicenseUserRecord {
  id: number;
  accountId: number;
  email: string;
  /** scrypt (see passwords.ts); the password itself is never stored. */
  passwordHash: string;
  /** The password is the one the vendor set or the server generated (not yet changed by the user). */
  isInitialPassword: boolean;
  firstName: string;
  lastName: string;
  phoneNumber: string;
  /** False: the user cannot log in. */
  isActive: boolean;
  metadata: Record<string, unknown>;
  lastLogin: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface License {
  id: number;
  accountId: number;
  productId: number;
  /** Denormalised (short codes are immutable) so License API lookups need one query. */
  productCode: string;
  /** Key-based licenses have a key; user-based ones have `users` instead. */
  key: string | null;
  users: LicenseUser[];
  /** How many users may be assigned to the license (0: no limit). */
  maxLicenseUsers: number;
  type: LicenseType;
  enabled: boolean;
  isTrial: boolean;
  /** End of validity (time-limited and subscription licenses), or null. */
  validUntil: Date | null;
  maxActivations: number;
  /** Seats held: the number of its devices that are active (guarded by `< maxActivations` when a seat is taken). */
  timesActivated: number;
  /** Raised by every write that takes a seat away (deactivation, blacklisting); a consumption through a seat is guarded by it. */
  seatEpoch: number;
  /** The device that took a seat last, or null. */
  lastActivatedDeviceId: number | null;
  consumption: MeterState;
  features: LicenseFeature[];
  isFloating: boolean;
  isFloatingCloud: boolean;
  /** Concurrent seats of a floating-cloud license (see seatLimitOf). */
  floatingUsers: number;
  /** Minutes a floating seat stays live after the device's last activation or check (null or 0: no timeout). */
  floatingTimeout: number | null;
  /** Devices may borrow their floating seat (hold it past the timeout, see borrowEndOf). */
  canBorrow: boolean;
  /** The longest borrow, in hours from the moment of borrowing. */
  maxBorrowTime: number;
  preventVm: boolean;
  metadata: Record<string, unknown>;
  timeActivated: Date | null;
  timeDisabled: Date | null;
  lastCheck: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Device {
  id: number;
  /** The v3 activation id: a random UUID. */
  activationId: string;
  accountId: number;
  licenseId: number;
  productId: number;
  hardwareId: string;
  /** Holds a seat on its license. */
  active: boolean;
  blacklisted: boolean;
  /** A seat change in flight, or null. */
  seatChange: SeatChange | null;
  os: string | null;
  osVersion: string | null;
  hostname: string | null;
  vmName: string | null;
  container: boolean | null;
  userHash: string | null;
  appVersion: string | null;
  releaseVersion: string | null;
  releaseChannel: string | null;
  releasePlatform: string | null;
  releasePublishedAt: Date | null;
  userId: string | null;
  deviceId: string | null;
  ipAddress: string | null;
  /** Seconds of lease the client last asked for (Web API v3 `leaseDuration`), or null. */
  leaseDuration: number | null;
  /** When the device's seat stops being live unless renewed (null: never; see isSeatLive). */
  leaseExpiresAt: Date | null;
  /** The end of the device's borrow of its floating seat, or null (the lease lasts at least until then). */
  borrowedUntil: Date | null;
  metadata: Array<{ key: string; value: string }>;
  createdAt: Date;
  updatedAt: Date;
  lastSyncedAt: Date | null;
}

export type MeterScope = 'license' | 'feature';

/**
 * Why a counter changed, as a ledger entry records it. The keys are the domain's names; the values
 * are the strings stored in the ledger collection (and in ledger outbox entries) since the first
 * release. They are read back by idempotent replay, the outbox repair and the ledger reports, so they
 * are kept as stored: renaming them would need every reader to accept both spellings (and existing
 * entries to be migrated) for no change in meaning. Adapters map their wire forms to these names.
 */
export const LedgerEvent = {
  /** A client consumed (or gave back) uses of a meter. */
  consumption: 'consumption_add',
  /** Uses a client counted while offline and reports afterwards. */
  offlineConsumption: 'offline_floating_consumptions_sync',
  /** An activation's uses of a meter changed (the activation's own count moves with the license total). */
  activationUses: 'meter_increment',
  /** A vendor set a feature's total. */
  totalSet: 'update',
  /** A vendor reset every total of a license to 0. */
  reset: 'reset',
  /** A period ended: amount = minus the total it closed with; periodResetAt = its end. */
  periodReset: 'period_reset',
  /** A floating seat's uses given back when its device was deactivated. */
  release: 'release',
} as const;
export type LedgerEvent = (typeof LedgerEvent)[keyof typeof LedgerEvent];

/** One accepted change to a counter, appended to the consumption ledger. */
export interface LedgerEntry {
  id: string;
  accountId: number;
  licenseId: number;
  scope: MeterScope;
  featureCode: string | null;
  deviceId: number | null;
  amount: number;
  /** The total right after the change (null only for a counter deleted before the entry was moved). */
  totalAfter: number | null;
  periodResetAt: Date | null;
  /** Why the counter changed (see LedgerEvent). */
  event: LedgerEvent;
  requestId: string | null;
  idempotencyKey: string | null;
  at: Date;
}
