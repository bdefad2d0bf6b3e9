import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { newNumericId } from './ids.js';
import type { ConsumptionPeriod } from './periods.js';
import type { FeatureType, Product, ProductFeature } from './types.js';
import type { ProductsPort } from './ports.js';
import type { TtlCache } from './ttl-cache.js';

/** What a license and `product_details` show of a product: none of it changes but the name and the trial settings. */
export type ProductDetails = Pick<Product, 'id' | 'name' | 'shortCode' | 'allowTrial' | 'trialDays'>;

/** A product's trial settings (see server/domain/trials.ts). */
export type TrialSettings = Pick<Product, 'allowTrial' | 'trialDays'>;

export interface NewProductInput {
  name: string;
  shortCode: string;
  allowTrial?: boolean | undefined;
  trialDays?: number | undefined;
}

export type ProductChanges = Partial<Pick<Product, 'name' | 'allowTrial' | 'trialDays'>>;

/** Trial settings are whole days from 0 to 3650, and a product that allows trials gives them at least a day. */
function assertTrialSettings(settings: TrialSettings): void {
  if (!Number.isSafeInteger(settings.trialDays) || settings.trialDays < 0 || settings.trialDays > 3650) {
    throw new DomainError('invalid_input', 'trial_days must be a whole number from 0 to 3650', { field: 'trialDays' });
  }
  if (settings.allowTrial && settings.trialDays < 1) {
    throw new DomainError('invalid_input', 'trial_days must be at least 1 when allow_trial is true', { field: 'trialDays' });
  }
}

export interface NewProductFeatureInput {
  code: string;
  name: string;
  featureType: FeatureType;
  maxConsumption?: number | undefined;
  allowOverages?: boolean | undefined;
  maxOverages?: number | undefined;
  resetConsumption?: boolean | undefined;
  consumptionPeriod?: ConsumptionPeriod | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** Products and their feature catalogue. */
export class ProductService {
  constructor(
    private readonly repo: ProductsPort,
    private readonly clock: Clock,
    /** Product details by account and short code (for license checks; a rename is dropped here at once, other processes see it within the cache's TTL). */
    private readonly details?: TtlCache<string, ProductDetails>,
  ) {}

  async createProduct(accountId: number, input: NewProductInput): Promise<Product> {
    const now = this.clock.now();
    const trial: TrialSettings = { allowTrial: input.allowTrial ?? false, trialDays: input.trialDays ?? 0 };
    assertTrialSettings(trial);
    const product: Product = { id: newNumericId(), accountId, name: input.name, shortCode: input.shortCode, ...trial, features: [], createdAt: now, updatedAt: now };
    const inserted = await this.repo.insert(product);
    if (!inserted) throw new DomainError('product_code_taken', `A product with short code "${input.shortCode}" already exists`, { field: 'shortCode' });
    return inserted;
  }

  async getProduct(accountId: number, productId: number): Promise<Product> {
    const product = await this.repo.findById(accountId, productId);
    if (!product) throw new DomainError('product_not_found', 'Product not found');
    return product;
  }

  /** The product with this id, of the account or (accountId undefined: a client-side call names it) of any account; null when none. */
  async findProduct(productId: number, accountId?: number): Promise<Product | null> {
    return this.repo.findById(accountId, productId);
  }

  async productExists(accountId: number, shortCode: string): Promise<boolean> {
    return this.repo.exists(accountId, shortCode);
  }

  async findByShortCode(accountId: number, shortCode: string): Promise<Product | null> {
    return this.repo.findByShortCode(accountId, shortCode);
  }

  /** The id, name, short code and trial settings of the account's product with this short code (cached; see `details`), or null. */
  async productDetails(accountId: number, shortCode: string): Promise<ProductDetails | null> {
    const load = async () => {
      const product = await this.repo.findByShortCode(accountId, shortCode);
      return product ? { id: product.id, name: product.name, shortCode: product.shortCode, allowTrial: product.allowTrial, trialDays: product.trialDays } : null;
    };
    if (!this.details) return load();
    const key = `${accountId}\u0000${shortCode}`;
    const hit = this.details.get(key);
    if (hit) return hit;
    const found = await load();
    // A product not found is not remembered: it may be created any moment.
    if (found) this.details.set(key, found);
    return found;
  }

  async listProducts(accountId: number, skip: number, limit: number): Promise<{ items: Product[]; count: number }> {
    return this.repo.list(accountId, skip, limit);
  }

  /** Changes the name and trial settings; the trial settings the product ends with are checked (assertTrialSettings). */
  async updateProduct(accountId: number, productId: number, changes: ProductChanges): Promise<Product> {
    if (changes.allowTrial !== undefined || changes.trialDays !== undefined) {
      // Checked against the current settings; a concurrent change of the other setting is last-writer-wins (a vendor's own edits).
      const current = await this.getProduct(accountId, productId);
      assertTrialSettings({ allowTrial: changes.allowTrial ?? current.allowTrial, trialDays: changes.trialDays ?? current.trialDays });
    }
    const updated = await this.repo.update(accountId, productId, changes, this.clock.now());
    if (!updated) throw new DomainError('product_not_found', 'Product not found');
    this.details?.delete(`${accountId}\u0000${updated.shortCode}`);
    return updated;
  }

  async addFeature(accountId: number, productId: number, input: NewProductFeatureInput): Promise<ProductFeature> {
    const now = this.clock.now();
    if (input.resetConsumption && !input.consumptionPeriod) {
      throw new DomainError('invalid_input', 'consumption_period is required when reset_consumption is true', { field: 'consumptionPeriod' });
    }
    const feature: ProductFeature = {
      id: newNumericId(),
      code: input.code,
      name: input.name,
      featureType: input.featureType,
      maxConsumption: input.maxConsumption ?? 0,
      allowOverages: input.allowOverages ?? false,
      maxOverages: input.maxOverages ?? 0,
      resetConsumption: input.resetConsumption ?? false,
      consumptionPeriod: input.consumptionPeriod ?? null,
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    };
    const outcome = await this.repo.addFeature(accountId, productId, feature, now);
    if (outcome === 'product_not_found') throw new DomainError('product_not_found', 'Product not found');
    if (outcome === 'code_taken') throw new DomainError('product_feature_code_taken', `The product already has a feature with code "${input.code}"`, { field: 'code' });
    return feature;
  }
}
