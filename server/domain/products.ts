import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { newNumericId } from './ids.js';
import type { ConsumptionPeriod } from './periods.js';
import type { FeatureType, Product, ProductFeature } from './types.js';
import type { ProductsPort } from './ports.js';
import type { TtlCache } from './ttl-cache.js';

/** What a license shows of its product: none of it changes but the name. */
export type ProductDetails = Pick<Product, 'id' | 'name' | 'shortCode'>;

export interface NewProductInput {
  name: string;
  shortCode: string;
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
    const product: Product = { id: newNumericId(), accountId, name: input.name, shortCode: input.shortCode, features: [], createdAt: now, updatedAt: now };
    const inserted = await this.repo.insert(product);
    if (!inserted) throw new DomainError('product_code_taken', `A product with short code "${input.shortCode}" already exists`, { field: 'shortCode' });
    return inserted;
  }

  async getProduct(accountId: number, productId: number): Promise<Product> {
    const product = await this.repo.findById(accountId, productId);
    if (!product) throw new DomainError('product_not_found', 'Product not found');
    return product;
  }

  async productExists(accountId: number, shortCode: string): Promise<boolean> {
    return this.repo.exists(accountId, shortCode);
  }

  async findByShortCode(accountId: number, shortCode: string): Promise<Product | null> {
    return this.repo.findByShortCode(accountId, shortCode);
  }

  /** The id, name and short code of the account's product with this short code (cached; see `details`), or null. */
  async productDetails(accountId: number, shortCode: string): Promise<ProductDetails | null> {
    const load = async () => {
      const product = await this.repo.findByShortCode(accountId, shortCode);
      return product ? { id: product.id, name: product.name, shortCode: product.shortCode } : null;
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

  async updateProduct(accountId: number, productId: number, changes: { name?: string }): Promise<Product> {
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
