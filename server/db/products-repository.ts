import type { Product, ProductFeature } from '../domain/types.js';
import { isDuplicateKey } from './duplicate-keys.js';
import type { Models } from './models.js';
import type { ProductsPort } from '../domain/ports.js';

interface ProductDocument extends Omit<Product, 'id'> {
  _id: number;
}

export function toProduct(doc: ProductDocument): Product {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest, allowTrial: rest.allowTrial ?? false, trialDays: rest.trialDays ?? 0, features: (rest.features ?? []).map((f) => ({ ...f, consumptionPeriod: f.consumptionPeriod ?? null, metadata: f.metadata ?? {} })) };
}

/** Products and their features (features are embedded in the product document). */
export class ProductsRepository implements ProductsPort {
  constructor(private readonly models: Models) {}

  /** Inserts a product; returns null when the short code is taken in the account. */
  async insert(product: Product): Promise<Product | null> {
    const { id, ...rest } = product;
    try {
      await this.models.Product.create({ _id: id, ...rest });
      return product;
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
  }

  async findById(accountId: number | undefined, id: number): Promise<Product | null> {
    const doc = await this.models.Product.findOne({ _id: id, ...(accountId !== undefined ? { accountId } : {}) }).lean<ProductDocument>();
    return doc ? toProduct(doc) : null;
  }

  async findByShortCode(accountId: number, shortCode: string): Promise<Product | null> {
    const doc = await this.models.Product.findOne({ accountId, shortCode }).lean<ProductDocument>();
    return doc ? toProduct(doc) : null;
  }

  async exists(accountId: number, shortCode: string): Promise<boolean> {
    return (await this.models.Product.exists({ accountId, shortCode })) !== null;
  }

  async list(accountId: number, skip: number, limit: number): Promise<{ items: Product[]; count: number }> {
    const [docs, count] = await Promise.all([
      this.models.Product.find({ accountId }).sort({ createdAt: 1, _id: 1 }).skip(skip).limit(limit).lean<ProductDocument[]>(),
      this.models.Product.countDocuments({ accountId }),
    ]);
    return { items: docs.map(toProduct), count };
  }

  async update(accountId: number, id: number, changes: Partial<Pick<Product, 'name' | 'allowTrial' | 'trialDays'>>, now: Date): Promise<Product | null> {
    const doc = await this.models.Product.findOneAndUpdate({ _id: id, accountId }, { $set: { ...changes, updatedAt: now } }, { returnDocument: 'after' }).lean<ProductDocument>();
    return doc ? toProduct(doc) : null;
  }

  /** Adds a feature unless its code is taken on the product (one atomic update). */
  async addFeature(accountId: number, productId: number, feature: ProductFeature, now: Date): Promise<'added' | 'code_taken' | 'product_not_found'> {
    const res = await this.models.Product.updateOne(
      { _id: productId, accountId, 'features.code': { $ne: feature.code } },
      { $push: { features: feature }, $set: { updatedAt: now } },
    );
    if (res.modifiedCount === 1) return 'added';
    return (await this.models.Product.exists({ _id: productId, accountId })) ? 'code_taken' : 'product_not_found';
  }
}
