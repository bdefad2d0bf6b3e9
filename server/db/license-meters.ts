import { toLicense, type LicenseDocument } from './license-document.js';
import { pendingLedgerEntries } from '../domain/ledger-entries.js';
import { licenseLocatorFilter, meterChangeFilter, meterChangeUpdate, multiFeatureChangeFilter, multiFeatureChangeUpdate, periodResetWrite } from '../domain/license-rules.js';
import type { Models } from './models.js';
import type { License } from '../domain/types.js';
import type { LicenseLocator, LicenseMetersPort, LicenseWithPending, MeterChange, MeterTarget, MultiFeatureChange, OutboxEntry } from '../domain/ports.js';

function withPending(doc: LicenseDocument): LicenseWithPending {
  return { license: toLicense(doc), pending: pendingLedgerEntries(doc.outbox) };
}

/** The license fields a counter write returns besides the meter it changed (and the outbox, to complete its ledger entries). */
const LICENSE_FIELDS: Record<string, 1> = Object.fromEntries(
  ['accountId', 'productId', 'productCode', 'key', 'type', 'enabled', 'isTrial', 'validUntil', 'maxActivations', 'timesActivated', 'seatEpoch', 'consumption', 'outbox', 'timeActivated', 'lastCheck', 'createdAt', 'updatedAt'].map((f) => [f, 1]),
);

/**
 * What a counter write returns: the license without the features it did not change (and without its
 * users), so the reply does not grow with the license's features.
 */
function afterWrite(target: MeterTarget): Record<string, unknown> {
  return target.scope === 'license' ? LICENSE_FIELDS : { ...LICENSE_FIELDS, features: { $elemMatch: { code: target.code } } };
}

/**
 * The atomic counter operations on license documents: each executes the filter and update that
 * domain/license-rules.ts builds for it, as one guarded write.
 */
export class LicenseMetersRepository implements LicenseMetersPort {
  constructor(private readonly models: Models) {}

  /** Applies the change if every guard holds; returns the license after it, or null when a guard failed. */
  async apply(change: MeterChange): Promise<LicenseWithPending | null> {
    const { update, arrayFilters } = meterChangeUpdate(change);
    // The driver directly (filter and update are already in stored form): mongoose's query casting
    // is measurable per request on this hot path and changes nothing here.
    const doc = (await this.models.License.collection.findOneAndUpdate(meterChangeFilter(change) as never, update as never, {
      returnDocument: 'after',
      projection: afterWrite(change.target),
      ...(arrayFilters ? { arrayFilters } : {}),
    })) as LicenseDocument | null;
    return doc ? { ...withPending(doc), narrowed: true } : null;
  }

  /** Applies every change of `multi` if every guard holds (one atomic update); null when a guard failed. */
  async applyMany(multi: MultiFeatureChange): Promise<LicenseWithPending | null> {
    const doc = await this.models.License.findOneAndUpdate(multiFeatureChangeFilter(multi), multiFeatureChangeUpdate(multi), {
      returnDocument: 'after',
      lean: true,
      strict: false,
    }).lean<LicenseDocument>();
    return doc ? withPending(doc) : null;
  }

  /** The license as stored (for explaining why a guard failed), with its pending ledger entries. */
  async find(accountId: number, locator: LicenseLocator): Promise<(License & { pending: OutboxEntry[] }) | null> {
    const doc = (await this.models.License.collection.findOne(licenseLocatorFilter(accountId, locator) as never)) as LicenseDocument | null;
    return doc ? { ...toLicense(doc), pending: pendingLedgerEntries(doc.outbox) } : null;
  }

  /** Starts a new period on a meter whose period has ended (see periodResetWrite); the license after it when this call reset it. */
  async resetPeriod(accountId: number, licenseId: number, target: MeterTarget, due: { resetAt: Date; total: number }, nextResetAt: Date, now: Date): Promise<LicenseWithPending | null> {
    const { filter, update, arrayFilters } = periodResetWrite(accountId, licenseId, target, due, nextResetAt, now);
    const doc = (await this.models.License.collection.findOneAndUpdate(filter as never, update as never, {
      returnDocument: 'after',
      projection: afterWrite(target),
      ...(arrayFilters ? { arrayFilters } : {}),
    })) as LicenseDocument | null;
    return doc ? { ...withPending(doc), narrowed: true } : null;
  }
}
