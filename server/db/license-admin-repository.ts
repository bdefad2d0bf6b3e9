import type { EventOutboxEntry } from '../domain/events.js';
import type { License } from '../domain/types.js';
import { toLicense, type LicenseDocument } from './license-document.js';
import { completeLedgerEntries, pendingLedgerEntries } from '../domain/ledger-entries.js';
import { replaceFeaturesStage, updateLicenseStage } from '../domain/license-features.js';
import { resetConsumptionStage } from '../domain/license-rules.js';
import type { Models } from './models.js';
import type { FeatureUpsert, LedgerTemplate, LicenseAdminPort, LicenseFieldChanges, LicenseWithLedger, MeterFieldChanges } from '../domain/ports.js';

/**
 * Management writes on license documents. Each is one atomic pipeline update (a single `$set` stage
 * built by the domain) on the native collection, since mongoose would cast the pipeline: settings are
 * merged into the stored meters at write time, so concurrent guarded `$inc`s on the counters are never
 * lost or counted twice.
 */
export class LicenseAdminRepository implements LicenseAdminPort {
  constructor(private readonly models: Models) {}

  private async applyPipeline(accountId: number, licenseId: number, stages: object[]): Promise<LicenseDocument | null> {
    const doc = await this.models.License.collection.findOneAndUpdate({ _id: licenseId, accountId } as never, stages as never, {
      returnDocument: 'after',
      
    });
    return (doc as LicenseDocument | null) ?? null;
  }

  /** The license a write returned, with every ledger entry pending in its outbox completed (for the OutboxSettler). */
  private withLedgerMoves(doc: LicenseDocument): LicenseWithLedger {
    const license = toLicense(doc);
    return { license, ledger: completeLedgerEntries(license, pendingLedgerEntries(doc.outbox)) };
  }

  /** Replaces the license's features with `upserts` in one write (see replaceFeaturesStage). */
  async replaceFeatures(accountId: number, licenseId: number, upserts: FeatureUpsert[], ledger: LedgerTemplate, events: EventOutboxEntry[] = []): Promise<LicenseWithLedger | null> {
    const doc = await this.applyPipeline(accountId, licenseId, [replaceFeaturesStage(upserts, ledger, events)]);
    return doc ? this.withLedgerMoves(doc) : null;
  }

  /** Sets plain fields and merges license-level meter settings, in one write (see updateLicenseStage). */
  async updateLicense(accountId: number, licenseId: number, fields: LicenseFieldChanges, meter: MeterFieldChanges | undefined, now: Date, events: EventOutboxEntry[] = []): Promise<License | null> {
    const doc = await this.applyPipeline(accountId, licenseId, [updateLicenseStage(fields, meter, now, events)]);
    return doc ? toLicense(doc) : null;
  }

  /** Sets every total of the license to 0 in one write, with a ledger entry per counter that was not 0 (see resetConsumptionStage). */
  async resetConsumption(accountId: number, licenseId: number, ledger: LedgerTemplate, events: EventOutboxEntry[] = []): Promise<LicenseWithLedger | null> {
    const doc = await this.applyPipeline(accountId, licenseId, [resetConsumptionStage(ledger, events)]);
    return doc ? this.withLedgerMoves(doc) : null;
  }
}
