/**
 * Seeds the benchmark's data straight into the server's database from the bench process (same
 * SECRETS_KEY): one account and product through the tests' fixture builder (the domain services), then licenses (each with one active seat
 * and its device) and ledger entries built with the domain's builders and bulk-inserted in batches.
 */
import { randomUUID } from 'node:crypto';
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
  credentials: { licenseApiKey: string; sharedKey: string };
  /** Every seeded license, in seeding order. */
  licenses: BenchLicense[];
}

export async function openBenchData(uri: string, dbName: string, secretsKey: string): Promise<BenchData> {
  const db = await openDatabase({ uri, dbName, logger: createLogger('warn') });
  const services = createServices(db, { secretsKey });
  const { account, credentials } = await buildAccount(services, 'bench');
  const product = await buildProduct(services, account.id, { name: 'Bench app', shortCode: 'bench', features: [consumptionFeature(FEATURE, FEATURE_MAX, 'API calls')] });
  const feature = product.features[0]!;
  return { db, services, accountId: account.id, product, feature, credentials: { licenseApiKey: credentials.licenseApiKey, sharedKey: credentials.sharedKey }, licenses: [] };
}

/** One license as `LicenseService.createLicense` builds it, with one device already holding a seat. */
function buildLicense(data: BenchData, index: number, now: Date, featureTotal: number): { license: License; device: Device } {
  const deviceId = newNumericId();
  const activationId = newActivationId();
  const hardwareId = `bench-hw-${index}`;
  const licenseId = newNumericId();
  const feature = newLicenseFeature(data.feature, { code: FEATURE }, now);
  feature.total = featureTotal;
  feature.gross = featureTotal;
  if (featureTotal > 0) feature.uses = { [String(deviceId)]: featureTotal };
  const license: License = {
    id: licenseId,
    accountId: data.accountId,
    productId: data.product.id,
    productCode: data.product.shortCode,
    key: `BNCH-${String(index).padStart(8, '0')}`,
    users: [],
    type: 'consumption',
    enabled: true,
    isTrial: false,
    validUntil: null,
    maxActivations: 1,
    timesActivated: 1,
    consumption: applyMeterSettings(EMPTY_METER, { max: FEATURE_MAX }, now),
    features: [feature],
    seatEpoch: 0,
    lastActivatedDeviceId: deviceId,
    isFloating: false,
    isFloatingCloud: false,
    floatingUsers: 0,
    floatingTimeout: null,
    preventVm: false,
    metadata: {},
    timeActivated: now,
    timeDisabled: null,
    lastCheck: null,
    createdAt: now,
    updatedAt: now,
  };
  const device: Device = {
    id: deviceId,
    activationId,
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
    releaseChannel: null,
    releasePlatform: null,
    releasePublishedAt: null,
    userId: null,
    deviceId: null,
    ipAddress: null,
    leaseDuration: null,
    leaseExpiresAt: null,
    metadata: [],
    createdAt: now,
    updatedAt: now,
    lastSyncedAt: null,
  } as Device;
  return { license, device };
}

/**
 * Adds licenses until there are `total`. Each new license's feature already carries
 * `ledgerPerLicense` consumptions, and as many ledger entries are written for it (so totals and
 * ledger agree for every license).
 */
export async function growLicenses(data: BenchData, total: number, ledgerPerLicense = 0): Promise<void> {
  const now = new Date();
  const { License: Licenses, Device: Devices, LedgerEntry } = data.db.models;
  while (data.licenses.length < total) {
    const count = Math.min(BATCH, total - data.licenses.length);
    const licenseDocs = [];
    const deviceDocs = [];
    const ledgerDocs = [];
    for (let i = 0; i < count; i += 1) {
      const { license, device } = buildLicense(data, data.licenses.length, now, ledgerPerLicense);
      licenseDocs.push(fromLicense(license));
      const { id: deviceIdValue, ...deviceRest } = device;
      deviceDocs.push({ _id: deviceIdValue, ...deviceRest });
      for (let n = 1; n <= ledgerPerLicense; n += 1) {
        ledgerDocs.push({
          _id: randomUUID(),
          accountId: data.accountId,
          licenseId: license.id,
          scope: 'feature',
          featureCode: FEATURE,
          deviceId: device.id,
          amount: 1,
          totalAfter: n,
          periodResetAt: null,
          event: 'consumption_add',
          requestId: null,
          idempotencyKey: null,
          at: new Date(now.getTime() - (ledgerPerLicense - n) * 1000),
        });
      }
      data.licenses.push({ id: license.id, key: license.key!, hardwareId: device.hardwareId, activationId: device.activationId });
    }
    await Promise.all([
      Licenses.collection.insertMany(licenseDocs as never[], { ordered: false }),
      Devices.collection.insertMany(deviceDocs as never[], { ordered: false }),
      ...chunks(ledgerDocs, 10_000).map((batch) => LedgerEntry.collection.insertMany(batch as never[], { ordered: false })),
    ]);
  }
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
