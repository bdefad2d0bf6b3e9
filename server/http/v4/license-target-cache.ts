import type { LicenseLocator } from '../../domain/ports.js';

const TTL_MS = 60_000;
const MAX_ENTRIES = 50_000;

/**
 * Remembers, for key-based licenses, which license a (account, product, license key) names and which
 * of its features are consumption features, so that `add_feature_consumption` can go straight to the
 * one guarded update instead of reading the license first. Only facts that never change are kept: a
 * license key and a product short code are immutable, licenses are not deleted, and a license
 * feature's type is its product feature's. Everything that can change (enabled, validity, seat,
 * limits, whether the feature is still on the license) is checked by the guarded update itself.
 * License users can change, so user-based locators are never cached.
 */
export class LicenseTargetCache {
  private readonly entries = new Map<string, { licenseId: number; consumptionFeatures: ReadonlySet<string>; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  private keyOf(accountId: number, locator: LicenseLocator): string | undefined {
    return 'key' in locator ? `${accountId}\u0000${locator.productCode}\u0000${locator.key}` : undefined;
  }

  /** The license id when the locator is known to name a license with this consumption feature. */
  consumptionFeatureLicense(accountId: number, locator: LicenseLocator, featureCode: string): number | undefined {
    const key = this.keyOf(accountId, locator);
    const hit = key === undefined ? undefined : this.entries.get(key);
    if (!hit || hit.expiresAt <= this.now() || !hit.consumptionFeatures.has(featureCode)) return undefined;
    return hit.licenseId;
  }

  remember(accountId: number, locator: LicenseLocator, license: { id: number; features: ReadonlyArray<{ code: string; featureType: string }> }): void {
    const key = this.keyOf(accountId, locator);
    if (key === undefined) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const consumptionFeatures = new Set(license.features.filter((f) => f.featureType === 'consumption').map((f) => f.code));
    this.entries.set(key, { licenseId: license.id, consumptionFeatures, expiresAt: this.now() + TTL_MS });
  }
}
