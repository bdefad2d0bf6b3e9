import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { newNumericId } from './ids.js';
import type { ConsumptionPeriod } from './periods.js';
import type { FeatureType, Product, ProductFeature } from './types.js';
import type { ProductsPort } from './ports.js';

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

  async listProducts(accountId: number, skip: number, limit: number): Promise<{ items: Product[]; count: number }> {
    return this.repo.list(accountId, skip, limit);
  }

  async updateProduct(accountId: number, productId: number, changes: { name?: string }): Promise<Product> {
    const updated = await this.repo.update(accountId, productId, changes, this.clock.now());
    if (!updated) throw new DomainError('product_not_found', 'Product not found');
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
