import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { isExpired } from './license-rules.js';
import type { LicenseService } from './licenses.js';
import type { ProductService } from './products.js';
import type { License, Product } from './types.js';

const DAY_MS = 86_400_000;

/** Where trial licenses are kept: licenses that name the device they were issued to. */
export interface TrialsPort {
  /** The trial license issued to this device for this product, or null. */
  findTrial(accountId: number, productId: number, hardwareId: string): Promise<License | null>;
  /**
   * Stores `license` as the device's trial license unless the device has one already (one atomic
   * insert guarded by a unique index): true when stored, false when another one was there first.
   */
  insertTrial(license: License, hardwareId: string): Promise<boolean>;
}

/** What a trial license is, given its product's trial settings (the one rule every dialect's trial shares). */
export function trialLicenseInput(product: Pick<Product, 'id' | 'trialDays'>, now: Date) {
  return {
    productId: product.id,
    type: 'time-limited' as const,
    isTrial: true,
    maxActivations: 1,
    validUntil: new Date(now.getTime() + product.trialDays * DAY_MS),
  };
}

/**
 * Trial licenses: one per product and device (hardware id), created the first time the device asks
 * and answered again afterwards, while the product allows trials. Exactly once: concurrent requests of
 * one device store one license (TrialsPort.insertTrial) and all answer it.
 */
export class TrialService {
  constructor(
    private readonly repo: TrialsPort,
    private readonly products: Pick<ProductService, 'findByShortCode'>,
    private readonly licenses: Pick<LicenseService, 'newLicense'>,
    private readonly clock: Clock,
  ) {}

  /** The device's trial license (`created`: by this call); `trial_not_allowed`, `trial_expired` (the device's trial has run out). */
  async trialLicense(accountId: number, productCode: string, hardwareId: string): Promise<{ license: License; created: boolean; trialDays: number }> {
    const product = await this.products.findByShortCode(accountId, productCode);
    if (!product) throw new DomainError('product_not_found', 'Provided product was not found');
    if (!product.allowTrial) throw new DomainError('trial_not_allowed', 'Product does not allow trial');
    let license = await this.repo.findTrial(accountId, product.id, hardwareId);
    let created = false;
    if (!license) {
      const fresh = await this.licenses.newLicense(accountId, trialLicenseInput(product, this.clock.now()));
      created = await this.repo.insertTrial(fresh, hardwareId);
      license = created ? fresh : await this.repo.findTrial(accountId, product.id, hardwareId);
      // Lost the race to a trial that was then removed at once: nothing to answer but a retry.
      if (!license) throw new DomainError('concurrent_modification', 'The trial license changed meanwhile; retry');
    }
    if (isExpired(license, this.clock.now())) throw new DomainError('trial_expired', 'Trial period for device has expired');
    return { license, created, trialDays: trialDaysOf(license, product) };
  }
}

/** The days a trial license was issued for (its validity from its creation, in whole days). */
function trialDaysOf(license: License, product: Pick<Product, 'trialDays'>): number {
  if (!license.validUntil) return product.trialDays;
  return Math.round((license.validUntil.getTime() - license.createdAt.getTime()) / DAY_MS);
}
