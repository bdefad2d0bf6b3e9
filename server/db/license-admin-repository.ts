import { randomUUID } from 'node:crypto';
import type { EventOutboxEntry } from '../domain/events.js';
import type { License, LedgerEntry } from '../domain/types.js';
import { toLicense, type LicenseDocument } from './license-document.js';
import { completeLedgerEntries, pendingLedgerEntries } from '../domain/ledger-entries.js';
import { featureByCode, literal, mergedMeterExpression } from './meter-expressions.js';
import type { Models } from './models.js';
import type { FeatureUpsert, LicenseAdminPort, LicenseFieldChanges, LicenseWithLedger } from '../domain/ports.js';
import type { MeterFieldChanges } from '../domain/ports.js';

type LedgerTemplate = Omit<LedgerEntry, 'id' | 'totalAfter' | 'amount' | 'featureCode' | 'scope'>;

/** An outbox entry whose amount (and feature code) are computed from the document at write time. */
function outboxEntryExpression(id: string, template: LedgerTemplate, scope: 'license' | 'feature', featureCode: unknown, amount: object): object {
  return {
    id: literal(id),
    kind: 'ledger',
    at: template.at,
    ledger: {
      id: literal(id),
      accountId: literal(template.accountId),
      licenseId: literal(template.licenseId),
      scope,
      featureCode,
      deviceId: null,
      amount,
      periodResetAt: null,
      event: literal(template.event),
      requestId: literal(template.requestId),
      idempotencyKey: null,
      at: template.at,
    },
  };
}

/** Appends the entries whose amount is not 0 to the license's outbox. */
function appendToOutbox(entries: object[]): object {
  return { $concatArrays: [{ $ifNull: ['$outbox', []] }, { $filter: { input: entries, as: 'e', cond: { $ne: ['$$e.ledger.amount', 0] } } }] };
}

/** `outbox` with the event entries appended (after whatever `outbox` expression came before). */
function withEvents(outbox: object, events: EventOutboxEntry[]): object {
  return events.length === 0 ? outbox : { $concatArrays: [outbox, literal(events)] };
}

/**
 * Management writes on license documents. Each is one atomic pipeline update on the native
 * collection (mongoose would cast the pipeline): settings are merged into the stored meters at write
 * time, so concurrent guarded `$inc`s on the counters are never lost or counted twice.
 */

export class LicenseAdminRepository implements LicenseAdminPort {
  constructor(private readonly models: Models) {}

  private async applyPipeline(accountId: number, licenseId: number, stages: object[]): Promise<LicenseDocument | null> {
    const doc = await this.models.License.collection.findOneAndUpdate({ _id: licenseId, accountId } as never, stages as never, {
      returnDocument: 'after',
      projection: { recentOps: 0 },
    });
    return (doc as LicenseDocument | null) ?? null;
  }

  /** The license a write returned, with every ledger entry pending in its outbox completed (for the OutboxSettler). */
  private withLedgerMoves(doc: LicenseDocument): LicenseWithLedger {
    const license = toLicense(doc);
    return { license, ledger: completeLedgerEntries(license, pendingLedgerEntries(doc.outbox)) };
  }

  /**
   * Replaces the license's features with `upserts` in one write: listed features that exist are
   * merged (counter kept unless `total` is given), missing ones inserted, unlisted ones dropped.
   */
  async replaceFeatures(accountId: number, licenseId: number, upserts: FeatureUpsert[], ledger: LedgerTemplate, events: EventOutboxEntry[] = []): Promise<LicenseWithLedger | null> {
    const now = ledger.at;
    const features = upserts.map((u) => ({
      $let: {
        vars: { old: featureByCode(u.code) },
        in: {
          $cond: [
            { $eq: ['$$old', null] },
            literal(u.whenNew),
            { $mergeObjects: [mergedMeterExpression('$$old', u.meter, now, u.total), literal(u.fields)] },
          ],
        },
      },
    }));
    const entries = upserts.flatMap((u) => {
      if (u.total === undefined) return [];
      const id = `${ledger.requestId ?? 'update'}:${randomUUID()}`;
      const oldTotal = { $let: { vars: { old: featureByCode(u.code) }, in: { $ifNull: ['$$old.total', 0] } } };
      return [outboxEntryExpression(id, ledger, 'feature', literal(u.code), { $subtract: [u.total, oldTotal] })];
    });
    const doc = await this.applyPipeline(accountId, licenseId, [{ $set: { features, outbox: withEvents(appendToOutbox(entries), events), updatedAt: now } }]);
    return doc ? this.withLedgerMoves(doc) : null;
  }

  /** Sets plain fields and merges license-level meter settings, in one write. */
  async updateLicense(accountId: number, licenseId: number, fields: LicenseFieldChanges, meter: MeterFieldChanges | undefined, now: Date, events: EventOutboxEntry[] = []): Promise<License | null> {
    const set: Record<string, unknown> = { updatedAt: now };
    if (events.length > 0) set.outbox = withEvents({ $ifNull: ['$outbox', []] }, events);
    for (const [key, value] of Object.entries(fields)) set[key] = literal(value);
    if (meter && Object.keys(meter).length > 0) set.consumption = mergedMeterExpression('$consumption', meter, now);
    const doc = await this.applyPipeline(accountId, licenseId, [{ $set: set }]);
    return doc ? toLicense(doc) : null;
  }

  /**
   * Sets the license-level total and every feature's total to 0 in one write, with a ledger entry
   * for each counter that was not 0 (amount = minus the total it had when the write applied).
   */
  async resetConsumption(accountId: number, licenseId: number, ledger: LedgerTemplate, events: EventOutboxEntry[] = []): Promise<LicenseWithLedger | null> {
    const prefix = `${randomUUID()}:`;
    const licenseEntryId = `${prefix}license`;
    const licenseEntry = outboxEntryExpression(licenseEntryId, ledger, 'license', null, { $multiply: [-1, { $ifNull: ['$consumption.total', 0] }] });
    const featureEntries = {
      $map: {
        input: { $ifNull: ['$features', []] },
        as: 'f',
        in: {
          id: { $concat: [prefix, 'feature:', '$$f.code'] },
          kind: 'ledger',
          at: ledger.at,
          ledger: {
            id: { $concat: [prefix, 'feature:', '$$f.code'] },
            accountId: literal(ledger.accountId),
            licenseId: literal(ledger.licenseId),
            scope: 'feature',
            featureCode: '$$f.code',
            deviceId: null,
            amount: { $multiply: [-1, { $ifNull: ['$$f.total', 0] }] },
            periodResetAt: null,
            event: literal(ledger.event),
            requestId: literal(ledger.requestId),
            idempotencyKey: null,
            at: ledger.at,
          },
        },
      },
    };
    const doc = await this.applyPipeline(accountId, licenseId, [
      {
        $set: {
          outbox: withEvents({ $concatArrays: [{ $ifNull: ['$outbox', []] }, { $filter: { input: { $concatArrays: [[licenseEntry], featureEntries] }, as: 'e', cond: { $ne: ['$$e.ledger.amount', 0] } } }] }, events),
          consumption: { $mergeObjects: ['$consumption', { total: 0 }] },
          features: { $map: { input: { $ifNull: ['$features', []] }, as: 'f', in: { $mergeObjects: ['$$f', { total: 0 }] } } },
          updatedAt: ledger.at,
        },
      },
    ]);
    return doc ? this.withLedgerMoves(doc) : null;
  }
}
