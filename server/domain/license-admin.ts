import type { Clock } from './clock.js';
import type { EventOutbox } from './event-outbox.js';
import type { EventOutboxEntry } from './events.js';
import { DomainError } from './errors.js';
import { applyMeterSettings, assertListedOnce, newLicenseFeature, updatedLicenseFeature, type LicenseFeatureSettings, type MeterSettings } from './license-features.js';
import type { ProductService } from './products.js';
import { normalizeAlertThresholds } from './consumption-alerts.js';
import type { LicenseSettingsInput } from './licenses.js';
import { LedgerEvent, type License, type LicenseType } from './types.js';
import type { FeatureUpsert, LedgerMove, LicenseAdminPort, LicenseFieldChanges, LicensesPort, MeterFieldChanges } from './ports.js';

export interface LicenseListFilter {
  productId?: number | undefined;
  key?: string | undefined;
  enabled?: boolean | undefined;
}

/** Changes to a license's settings; anything left out stays as it is. Counters are not set here. */
export interface LicenseChanges extends LicenseSettingsInput {
  type?: LicenseType | undefined;
  maxActivations?: number | undefined;
  consumption?: Omit<MeterSettings, 'total'> | undefined;
}

function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

function meterFieldChanges(s: MeterSettings): MeterFieldChanges {
  return defined({ max: s.max, unlimited: s.unlimited, allowNegative: s.allowNegative, allowOverages: s.allowOverages, maxOverages: s.maxOverages, reset: s.reset, period: s.period, alertThresholds: s.alertThresholds === undefined ? undefined : normalizeAlertThresholds(s.alertThresholds) });
}

/**
 * Vendor-side management of issued licenses: listing, settings, enable/disable, resetting
 * consumption and replacing the feature set. Every change is one atomic write that keeps
 * concurrent consumptions exact (see LicenseAdminPort).
 */
export class LicenseAdminService {
  constructor(
    private readonly repo: LicenseAdminPort,
    private readonly licenses: LicensesPort,
    private readonly products: ProductService,
    private readonly clock: Clock,
    private readonly events: EventOutbox,
  ) {}

  /** The `license.updated` entry recorded with a management write. */
  private licenseUpdated(accountId: number, now: Date): EventOutboxEntry[] {
    return [this.events.entry({ type: 'license.updated', accountId }, now)];
  }

  private async settle(license: License, entries: EventOutboxEntry[], ledger: LedgerMove[] = []): Promise<License> {
    await this.events.settle({ licenseId: license.id }, license.id, entries, { license }, ledger);
    return license;
  }

  private async current(accountId: number, licenseId: number): Promise<License> {
    const license = await this.licenses.findById(accountId, licenseId);
    if (!license) throw new DomainError('license_not_found', 'License not found');
    return license;
  }

  private static gone(): DomainError {
    return new DomainError('license_not_found', 'License not found');
  }

  async listLicenses(accountId: number, filter: LicenseListFilter, skip: number, limit: number): Promise<{ items: License[]; count: number }> {
    return this.licenses.list(
      accountId,
      defined({ productId: filter.productId, key: filter.key, enabled: filter.enabled }),
      skip,
      limit,
    );
  }

  async updateLicense(accountId: number, licenseId: number, changes: LicenseChanges): Promise<License> {
    const now = this.clock.now();
    const license = await this.current(accountId, licenseId);
    if (changes.maxActivations !== undefined && (!Number.isSafeInteger(changes.maxActivations) || changes.maxActivations < 0)) {
      throw new DomainError('invalid_input', 'max_activations must be a whole number of at least 0', { field: 'maxActivations' });
    }
    // Validates the resulting policy (the write merges the same settings into the stored meter).
    if (changes.consumption) applyMeterSettings(license.consumption, changes.consumption, now);
    const { consumption, ...plain } = changes;
    const fields: LicenseFieldChanges = defined(plain);
    if (changes.enabled === false && license.enabled) fields.timeDisabled = now;
    const events = this.licenseUpdated(accountId, now);
    const updated = await this.repo.updateLicense(accountId, licenseId, fields, consumption ? meterFieldChanges(consumption) : undefined, now, events);
    if (!updated) throw LicenseAdminService.gone();
    return this.settle(updated, events);
  }

  async setEnabled(accountId: number, licenseId: number, enabled: boolean): Promise<License> {
    return this.updateLicense(accountId, licenseId, { enabled });
  }

  /** License-level and every feature's total back to 0, atomically, with ledger entries. */
  async resetConsumption(accountId: number, licenseId: number, requestId?: string): Promise<License> {
    const now = this.clock.now();
    const events = this.licenseUpdated(accountId, now);
    const updated = await this.repo.resetConsumption(accountId, licenseId, { accountId, licenseId, deviceId: null, periodResetAt: null, event: LedgerEvent.reset, requestId: requestId ?? null, idempotencyKey: null, at: now }, events);
    if (!updated) throw LicenseAdminService.gone();
    return this.settle(updated.license, events, updated.ledger);
  }

  /**
   * Makes the license's features exactly the listed ones: each listed feature (by product feature
   * code) is created when absent or updated when present; features not listed are removed. One
   * atomic write: a concurrent consumption on a feature that stays is neither lost nor counted twice.
   */
  async updateFeatures(accountId: number, licenseId: number, settings: LicenseFeatureSettings[], requestId?: string): Promise<License> {
    assertListedOnce(settings);
    const now = this.clock.now();
    const license = await this.current(accountId, licenseId);
    const product = await this.products.getProduct(accountId, license.productId);
    const upserts: FeatureUpsert[] = settings.map((s) => {
      const pf = product.features.find((f) => f.code === s.code);
      if (!pf) {
        throw new DomainError('product_feature_not_found', `"${s.code}" is not a feature of product ${product.shortCode}`, { field: 'features', code: s.code });
      }
      if (s.total !== undefined && (!Number.isSafeInteger(s.total) || s.total < 0)) {
        throw new DomainError('invalid_input', 'total_consumptions must be a whole number of at least 0', { field: 'total' });
      }
      // Validates the settings against the feature as it is now (the write merges them at write time).
      const existing = license.features.find((f) => f.code === s.code);
      if (existing) updatedLicenseFeature(existing, s, now);
      return {
        code: s.code,
        meter: meterFieldChanges(s),
        fields: defined({
          expiryDate: s.expiryDate,
          metadata: s.metadata,
          isFloating: s.isFloating,
          isFloatingCloud: s.isFloatingCloud,
          floatingUsers: s.floatingUsers,
          floatingTimeout: s.floatingTimeout,
        }),
        ...(s.total !== undefined ? { total: s.total } : {}),
        whenNew: newLicenseFeature(pf, s, now),
      };
    });
    const events = this.licenseUpdated(accountId, now);
    const updated = await this.repo.replaceFeatures(accountId, licenseId, upserts, {
      accountId,
      licenseId,
      deviceId: null,
      periodResetAt: null,
      event: LedgerEvent.totalSet,
      requestId: requestId ?? null,
      idempotencyKey: null,
      at: now,
    }, events);
    if (!updated) throw LicenseAdminService.gone();
    return this.settle(updated.license, events, updated.ledger);
  }
}
