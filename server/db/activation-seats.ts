import type { EventOutboxEntry } from '../domain/events.js';
import { toLicense, type LicenseDocument } from './license-document.js';
import { ledgerOutboxEntry, pendingLedgerEntries } from '../domain/ledger-entries.js';
import type { Models } from './models.js';
import type { FilterQuery } from './query-types.js';
import type { ActivationSeatsPort, FloatingUses } from '../domain/ports.js';
import type { LicenseWithPending } from '../domain/ports.js';

/**
 * Releasing an activation's seat together with its floating meter uses: one atomic update pulls the
 * seat, lowers the activation count, and takes each floating feature's uses by this device out of the
 * feature's total (gross untouched). Guarded by the uses as read, so a concurrent change makes it
 * match nothing and the caller re-reads and retries.
 */
export class ActivationSeatsRepository implements ActivationSeatsPort {
  constructor(private readonly models: Models) {}

  async release(accountId: number, licenseId: number, deviceId: number, floating: FloatingUses[], now: Date, events: EventOutboxEntry[] = []): Promise<LicenseWithPending | null> {
    const guards: FilterQuery[] = floating.map((f) => ({
      features: { $elemMatch: { code: f.code, [`uses.${deviceId}`]: f.uses === 0 ? { $in: [0, null] } : f.uses } },
    }));
    const filter: FilterQuery = { _id: licenseId, accountId, 'seats.deviceId': deviceId, ...(guards.length > 0 ? { $and: guards } : {}) };
    const inc: Record<string, number> = { timesActivated: -1 };
    const unset: Record<string, ''> = {};
    for (const f of floating) {
      filter[`features.${f.index}.code`] = f.code;
      if (f.uses === 0) continue;
      inc[`features.${f.index}.total`] = -f.uses;
      unset[`features.${f.index}.uses.${deviceId}`] = '';
    }
    // Uses given back leave the feature's total: the ledger records each (the ledger always sums to the totals).
    const ledger = floating
      .filter((f) => f.uses !== 0)
      .map((f) =>
        ledgerOutboxEntry({ accountId, licenseId, scope: 'feature', featureCode: f.code, deviceId, amount: -f.uses, event: 'release', requestId: null, idempotencyKey: null, at: now }),
      );
    const update: Record<string, unknown> = { $pull: { seats: { deviceId } }, $inc: inc, $set: { updatedAt: now } };
    if (events.length + ledger.length > 0) update.$push = { outbox: { $each: [...ledger, ...events] } };
    if (Object.keys(unset).length > 0) update.$unset = unset;
    const doc = await this.models.License.findOneAndUpdate(filter, update, {
      returnDocument: 'after',
      
      strict: false,
    }).lean<LicenseDocument>();
    return doc ? { license: toLicense(doc), pending: pendingLedgerEntries(doc.outbox) } : null;
  }
}
