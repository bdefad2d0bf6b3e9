/**
 * Seeds the benchmark's data straight into the server's database from the bench process (same
 * SECRETS_KEY): one account and product through the tests' fixture builder (the domain services),
 * then licenses and ledger entries built with the domain's builders and bulk-inserted in batches.
 * A license is plain (one active seat, one feature) or of a larger shape (many seats, many features,
 * many applied idempotency keys); seats are written only by `seatDocuments` and applied keys only by
 * `appliedKeyDocuments`, the two places that know how the data model stores them.
 */
import { randomUUID } from 'node:crypto';
import { calculateObjectSize } from 'bson';
import { openDatabase, type Database } from '../server/db/connection.js';
import { fromLicense } from '../server/db/license-document.js';
import { newActivationId, newNumericId } from '../server/domain/ids.js';
import { applyMeterSettings, EMPTY_METER, newLicenseFeature } from '../server/domain/license-features.js';
import type { Device, License, Product, ProductFeature } from '../server/domain/types.js';
import { createLogger } from '../server/logger.js';
import { createServices, type Services } from '../server/services.js';
import { buildAccount, buildProduct, consumptionFeature } from '../test/support/fixtures.js';

export const FEATURE = 'api-calls';
/** High enough never to be hit during a run. */
export const FEATURE_MAX = 1_000_000_000;
const BATCH = 5_000;

export interface BenchLicense {
  id: number;
  key: string;
  hardwareId: string;
  activationId: string;
}

export interface BenchData {
  db: Database;
  services: Services;
  accountId: number;
  product: Product;
  feature: ProductFeature;
  credentials: { licenseApiKey: string; sharedKey: string; managementApiKey: string };
  /** Every seeded license, in seeding order. */
  licenses: BenchLicense[];
}

export async function openBenchData(uri: string, dbName: string, secretsKey: string): Promise<BenchData> {
  // Generous timeouts: the engine can be busy for seconds with a large bulk insert or a large document.
  const db = await openDatabase({ uri, dbName, logger: createLogger('warn'), serverSelectionTimeoutMs: 60_000, connectTimeoutMs: 60_000 });
  const services = createServices(db, { secretsKey });
  const { account, credentials } = await buildAccount(services, 'bench');
  const product = await buildProduct(services, account.id, { name: 'Bench app', shortCode: 'bench', features: [consumptionFeature(FEATURE, FEATURE_MAX, 'API calls')] });
  const feature = product.features[0]!;
  return { db, services, accountId: account.id, product, feature, credentials: { licenseApiKey: credentials.licenseApiKey, sharedKey: credentials.sharedKey, managementApiKey: credentials.managementApiKey }, licenses: [] };
}

/** The form of the licenses a population is seeded with (every count at least 1). */
export interface LicenseShape {
  /** Active seats (devices) on each license; requests consume from the last one. */
  seats: number;
  /** Consumption features on each license; requests consume `api-calls`, the last one. */
  features: number;
  /** Keyed consumptions each license has already applied (each with its Idempotency-Key kept). */
  appliedKeys: number;
}

export const PLAIN: LicenseShape = { seats: 1, features: 1, appliedKeys: 0 };

type Doc = Record<string, unknown>;

/** A device holding a seat on `licenseId`, as `DeviceService.activate` stores it. */
function deviceOf(data: BenchData, licenseId: number, hardwareId: string, now: Date): Device {
  return {
    id: newNumericId(),
    activationId: newActivationId(),
    accountId: data.accountId,
    licenseId,
    productId: data.product.id,
    hardwareId,
    active: true,
    blacklisted: false,
    seatChange: null,
    os: null,
    osVersion: null,
    hostname: null,
    vmName: null,
    container: null,
    userHash: null,
    appVersion: null,
    releaseVersion: null,
    releasePlatform: null,
    releaseChannel: null,
    releasePublishedAt: null,
    userId: null,
    deviceId: null,
    ipAddress: null,
    leaseDuration: null,
    leaseExpiresAt: null,
    borrowedUntil: null,
    metadata: [],
    createdAt: now,
    updatedAt: now,
    lastSyncedAt: null,
  } as Device;
}

/**
 * Every seat the bench seeds goes through here: `count` active devices on the license, as the license
 * fields that record them (`timesActivated`, `maxActivations`, `seatEpoch`, `lastActivatedDeviceId`)
 * and the device documents of the devices collection (where the seats are). Returns the last device too (the one requests name).
 */
export function seatDocuments(data: BenchData, licenseId: number, licenseIndex: number, count: number, now: Date): { license: Pick<License, 'timesActivated' | 'maxActivations' | 'seatEpoch' | 'lastActivatedDeviceId'>; devices: Doc[]; last: Device } {
  const devices: Device[] = [];
  for (let s = 0; s < count; s += 1) devices.push(deviceOf(data, licenseId, s === 0 ? `bench-hw-${licenseIndex}` : `bench-hw-${licenseIndex}-${s}`, now));
  return {
    license: {
      timesActivated: count,
      maxActivations: count,
      seatEpoch: 0,
      lastActivatedDeviceId: devices.at(-1)?.id ?? null,
    },
    devices: devices.map(({ id, ...rest }) => ({ _id: id, ...rest })),
    last: devices[devices.length - 1]!,
  };
}

/** A ledger entry of one consumption of `api-calls` (the form LedgerRepository stores). */
export function ledgerDocument(accountId: number, licenseId: number, deviceId: number, totalAfter: number, at: Date, idempotencyKey: string | null): Doc {
  return {
    _id: randomUUID(),
    accountId,
    licenseId,
    scope: 'feature',
    featureCode: FEATURE,
    deviceId,
    amount: 1,
    totalAfter,
    periodResetAt: null,
    event: 'consumption_add',
    requestId: null,
    idempotencyKey,
    at,
  };
}

/**
 * `count` keyed consumptions a license has applied, one each: their completed idempotency records and
 * their ledger entries (the license document keeps nothing of them). Every applied key is seeded
 * through here.
 */
export function appliedKeyDocuments(data: BenchData, licenseId: number, deviceId: number, count: number, now: Date): { license: Record<string, never>; idempotency: Doc[]; ledger: Doc[] } {
  const idempotency: Doc[] = [];
  const ledger: Doc[] = [];
  const expiresAt = new Date(now.getTime() + 24 * 3600_000);
  for (let n = 1; n <= count; n += 1) {
    const key = randomUUID();
    const at = new Date(now.getTime() - (count - n) * 1000);
    idempotency.push({ _id: `${data.accountId}:${key}`, accountId: data.accountId, requestHash: `bench-${n}`, status: 200, body: JSON.stringify({ total_consumptions: n }), completedAt: at, lockedUntil: null, expiresAt });
    ledger.push(ledgerDocument(data.accountId, licenseId, deviceId, n, at, key));
  }
  return { license: {}, idempotency, ledger };
}

/**
 * One license as `LicenseService.createLicense` builds it, in the given shape, with its devices;
 * `featureTotal` consumptions already counted (ledger entries are the caller's).
 */
function buildLicense(data: BenchData, index: number, now: Date, shape: LicenseShape, featureTotal: number): { doc: Doc; devices: Doc[]; idempotency: Doc[]; ledger: Doc[]; bench: BenchLicense } {
  const licenseId = newNumericId();
  const seats = seatDocuments(data, licenseId, index, shape.seats, now);
  const deviceId = seats.last.id;
  const keyed = appliedKeyDocuments(data, licenseId, deviceId, shape.appliedKeys, now);
  const total = featureTotal + shape.appliedKeys;
  const feature = newLicenseFeature(data.feature, { code: FEATURE }, now);
  feature.total = total;
  feature.gross = total;
  if (total > 0) feature.uses = { [String(deviceId)]: total };
  const others = Array.from({ length: shape.features - 1 }, (_, f) => ({ ...newLicenseFeature(data.feature, undefined, now), code: `bench-feature-${f + 1}`, name: `Bench feature ${f + 1}` }));
  const license: License = {
    id: licenseId,
    accountId: data.accountId,
    productId: data.product.id,
    productCode: data.product.shortCode,
    key: `BNCH-${String(index).padStart(8, '0')}`,
    users: [],
    maxLicenseUsers: 0,
    type: 'consumption',
    enabled: true,
    isTrial: false,
    validUntil: null,
    ...seats.license,
    consumption: applyMeterSettings(EMPTY_METER, { max: FEATURE_MAX }, now),
    features: [...others, feature],
    isFloating: false,
    isFloatingCloud: false,
    floatingUsers: 0,
    floatingTimeout: null,
    canBorrow: false,
    maxBorrowTime: 0,
    preventVm: false,
    metadata: {},
    timeActivated: now,
    timeDisabled: null,
    lastCheck: null,
    createdAt: now,
    updatedAt: now,
  };
  const doc: Doc = { ...fromLicense(license), ...keyed.license };
  return { doc, devices: seats.devices, idempotency: keyed.idempotency, ledger: keyed.ledger, bench: { id: licenseId, key: license.key!, hardwareId: seats.last.hardwareId, activationId: seats.last.activationId } };
}

/** License keys are numbered across every population of a run (keys are unique per product). */
let nextIndex = 0;

/**
 * Inserts `count` new licenses of `shape` (bulk inserts in batches). Each new license's feature
 * already carries `ledgerPerLicense` consumptions, and as many ledger entries are written for it (so
 * totals and ledger agree for every license).
 */
export async function insertLicenses(data: BenchData, count: number, shape: LicenseShape = PLAIN, ledgerPerLicense = 0): Promise<BenchLicense[]> {
  const now = new Date();
  const { License: Licenses, Device: Devices, LedgerEntry, IdempotencyRecord } = data.db.models;
  const inserted: BenchLicense[] = [];
  // A batch holds about BATCH documents of the largest kind.
  const perBatch = Math.max(1, Math.floor(BATCH / Math.max(shape.seats, shape.appliedKeys, ledgerPerLicense, 1)));
  while (inserted.length < count) {
    const n = Math.min(perBatch, count - inserted.length);
    const licenseDocs: Doc[] = [];
    const deviceDocs: Doc[] = [];
    const idempotencyDocs: Doc[] = [];
    const ledgerDocs: Doc[] = [];
    for (let i = 0; i < n; i += 1) {
      const built = buildLicense(data, nextIndex, now, shape, ledgerPerLicense);
      nextIndex += 1;
      licenseDocs.push(built.doc);
      deviceDocs.push(...built.devices);
      idempotencyDocs.push(...built.idempotency);
      ledgerDocs.push(...built.ledger);
      for (let e = 1; e <= ledgerPerLicense; e += 1) ledgerDocs.push(ledgerDocument(data.accountId, built.bench.id, Number(built.devices[built.devices.length - 1]!._id), e, new Date(now.getTime() - (ledgerPerLicense - e) * 1000), null));
      inserted.push(built.bench);
    }
    await Promise.all([
      Licenses.collection.insertMany(licenseDocs as never[], { ordered: false }),
      ...chunks(deviceDocs, 10_000).map((batch) => Devices.collection.insertMany(batch as never[], { ordered: false })),
      ...chunks(idempotencyDocs, 10_000).map((batch) => IdempotencyRecord.collection.insertMany(batch as never[], { ordered: false })),
      ...chunks(ledgerDocs, 10_000).map((batch) => LedgerEntry.collection.insertMany(batch as never[], { ordered: false })),
    ]);
  }
  return inserted;
}

/** Adds plain licenses to `data.licenses` until there are `total` (see insertLicenses). */
export async function growLicenses(data: BenchData, total: number, ledgerPerLicense = 0): Promise<void> {
  data.licenses.push(...(await insertLicenses(data, total - data.licenses.length, PLAIN, ledgerPerLicense)));
}

/**
 * Inserts `count` ledger entries straight into the ledger collection (batches of 10,000, a few in
 * flight): consumptions of 1,000 licenses that are not seeded as documents, one entry a second back
 * from now. For the rows that measure a consumption against a large ledger.
 */
export async function insertLedgerEntries(data: BenchData, count: number): Promise<void> {
  const { LedgerEntry } = data.db.models;
  const licenseIds = Array.from({ length: 1_000 }, () => newNumericId());
  const deviceIds = licenseIds.map(() => newNumericId());
  const now = Date.now();
  const batch = 10_000;
  const inFlight = 4;
  for (let done = 0; done < count; ) {
    const round: Promise<unknown>[] = [];
    for (let k = 0; k < inFlight && done < count; k += 1) {
      const n = Math.min(batch, count - done);
      const docs: Doc[] = [];
      for (let i = 0; i < n; i += 1) {
        const j = done + i;
        const l = j % licenseIds.length;
        docs.push(ledgerDocument(data.accountId, licenseIds[l]!, deviceIds[l]!, Math.floor(j / licenseIds.length) + 1, new Date(now - (count - j) * 1000), null));
      }
      done += n;
      round.push(LedgerEntry.collection.insertMany(docs as never[], { ordered: false }));
    }
    await Promise.all(round);
  }
}

/** The stored size in bytes (BSON) of a license's document, as read back. */
export async function documentSize(data: BenchData, licenseId: number): Promise<number> {
  const doc = await data.db.models.License.collection.findOne({ _id: licenseId } as never);
  if (!doc) throw new Error(`license ${licenseId} not found`);
  return calculateObjectSize(doc);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A fresh license with a seat, for the hot-key and correctness runs. */
export async function addHotLicense(data: BenchData): Promise<BenchLicense> {
  await growLicenses(data, data.licenses.length + 1);
  return data.licenses[data.licenses.length - 1]!;
}

/** The stored total of a license's feature and how many ledger entries it has. */
export async function storedState(data: BenchData, licenseId: number): Promise<{ total: number; ledgerEntries: number; ledgerSum: number }> {
  const license = await data.services.licenses.getLicense(data.accountId, licenseId);
  const entries = await data.services.ledger.entriesFor(data.accountId, licenseId);
  const total = license.features.find((f) => f.code === FEATURE)!.total;
  return { total, ledgerEntries: entries.length, ledgerSum: entries.reduce((sum, e) => sum + e.amount, 0) };
}
