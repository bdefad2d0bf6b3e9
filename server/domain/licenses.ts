import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { newLicenseKey, newNumericId } from './ids.js';
import { applyMeterSettings, assertListedOnce, EMPTY_METER, newLicenseFeature, type LicenseFeatureSettings, type MeterSettings } from './license-features.js';
import type { ProductService } from './products.js';
import type { License, LicenseType } from './types.js';
import type { LicensesPort } from './ports.js';

/** A license's settings that are neither its identity nor its counters (given when issuing it, changed later). */
export interface LicenseSettingsInput {
  enabled?: boolean | undefined;
  isTrial?: boolean | undefined;
  validUntil?: Date | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  isFloating?: boolean | undefined;
  isFloatingCloud?: boolean | undefined;
  floatingUsers?: number | undefined;
  floatingTimeout?: number | null | undefined;
  canBorrow?: boolean | undefined;
  maxBorrowTime?: number | undefined;
  preventVm?: boolean | undefined;
  /** How many license users may be assigned (0: no limit). */
  maxLicenseUsers?: number | undefined;
}

export interface NewLicenseInput extends LicenseSettingsInput {
  productId: number;
  /** Omitted: a key is generated. Null: a user-based license (its users log in; see LicenseUserService). */
  key?: string | null | undefined;
  type: LicenseType;
  maxActivations: number;
  consumption?: MeterSettings | undefined;
  /** Omitted: every feature of the product with its defaults. */
  features?: LicenseFeatureSettings[] | undefined;
}

/** Issuing and reading licenses. */
export class LicenseService {
  constructor(
    private readonly repo: LicensesPort,
    private readonly products: ProductService,
    private readonly clock: Clock,
  ) {}

  async createLicense(accountId: number, input: NewLicenseInput): Promise<License> {
    return this.repo.insert(await this.newLicense(accountId, input));
  }

  /** The license `input` describes, checked and not yet stored (createLicense stores it; trials store theirs their own way). */
  async newLicense(accountId: number, input: NewLicenseInput): Promise<License> {
    const now = this.clock.now();
    if (input.features) assertListedOnce(input.features);
    const product = await this.products.getProduct(accountId, input.productId);
    const key = input.key === undefined ? newLicenseKey() : input.key;
    if (key !== null && (await this.repo.keyTaken(accountId, product.shortCode, key))) {
      throw new DomainError('license_key_taken', 'A license with this key already exists for the product', { field: 'key' });
    }
    if (!Number.isSafeInteger(input.maxActivations) || input.maxActivations < 0) {
      throw new DomainError('invalid_input', 'max_activations must be a whole number of at least 0', { field: 'maxActivations' });
    }
    const featureSettings = input.features ?? product.features.map((f) => ({ code: f.code }));
    const features = featureSettings.map((settings) => {
      const pf = product.features.find((f) => f.code === settings.code);
      if (!pf) throw new DomainError('feature_not_on_license', `"${settings.code}" is not a feature of product ${product.shortCode}`, { field: 'features', code: settings.code });
      return newLicenseFeature(pf, settings, now);
    });
    if (input.maxLicenseUsers !== undefined && (!Number.isSafeInteger(input.maxLicenseUsers) || input.maxLicenseUsers < 0)) {
      throw new DomainError('invalid_input', 'max_license_users must be a whole number of at least 0', { field: 'maxLicenseUsers' });
    }
    const license: License = {
      id: newNumericId(),
      accountId,
      productId: product.id,
      productCode: product.shortCode,
      key,
      users: [],
      maxLicenseUsers: input.maxLicenseUsers ?? 0,
      type: input.type,
      enabled: input.enabled ?? true,
      isTrial: input.isTrial ?? false,
      validUntil: input.validUntil ?? null,
      maxActivations: input.maxActivations,
      timesActivated: 0,
      consumption: applyMeterSettings(EMPTY_METER, input.consumption ?? {}, now),
      features,
      seatEpoch: 0,
      lastActivatedDeviceId: null,
      isFloating: input.isFloating ?? false,
      isFloatingCloud: input.isFloatingCloud ?? false,
      floatingUsers: input.floatingUsers ?? 0,
      floatingTimeout: input.floatingTimeout ?? null,
      canBorrow: input.canBorrow ?? false,
      maxBorrowTime: input.maxBorrowTime ?? 0,
      preventVm: input.preventVm ?? false,
      metadata: input.metadata ?? {},
      timeActivated: null,
      timeDisabled: null,
      lastCheck: null,
      createdAt: now,
      updatedAt: now,
    };
    return license;
  }

  async getLicense(accountId: number, licenseId: number): Promise<License> {
    const license = await this.repo.findById(accountId, licenseId);
    if (!license) throw new DomainError('license_not_found', 'License not found');
    return license;
  }
}
