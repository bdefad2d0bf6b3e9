import { describe, expect, it } from 'vitest';
import type { ProductsPort } from '../../server/domain/ports.js';
import { ProductService, type ProductDetails } from '../../server/domain/products.js';
import { TtlCache } from '../../server/domain/ttl-cache.js';
import type { Product } from '../../server/domain/types.js';
import { ManualClock } from '../support/clock.js';

/** Products in memory, counting the short-code reads a license check would make. */
function productsInMemory(products: Product[]) {
  const reads = { byShortCode: 0 };
  const port: ProductsPort = {
    insert: async (p) => (products.push(p), p),
    findById: async (accountId, id) => products.find((p) => p.accountId === accountId && p.id === id) ?? null,
    findByShortCode: async (accountId, shortCode) => {
      reads.byShortCode += 1;
      return products.find((p) => p.accountId === accountId && p.shortCode === shortCode) ?? null;
    },
    exists: async (accountId, shortCode) => products.some((p) => p.accountId === accountId && p.shortCode === shortCode),
    list: async () => ({ items: products, count: products.length }),
    update: async (accountId, id, changes) => {
      const p = products.find((x) => x.accountId === accountId && x.id === id);
      if (!p) return null;
      Object.assign(p, changes);
      return { ...p };
    },
    addFeature: async () => 'added',
  };
  return { port, reads };
}

describe('product details for license checks', () => {
  const at = new Date('2026-12-01T00:00:00Z');
  const product: Product = { id: 11, accountId: 1, name: 'App', shortCode: 'app', allowTrial: false, trialDays: 0, features: [], createdAt: at, updatedAt: at };

  it('reads a product once for many checks, sees a rename at once, and does not remember a product that is not there', async () => {
    const { port, reads } = productsInMemory([{ ...product }]);
    let ms = 0;
    const cache = new TtlCache<string, ProductDetails>({ maxEntries: 10, ttlMs: 10_000, now: () => ms });
    const products = new ProductService(port, new ManualClock(at), cache);
    for (let i = 0; i < 50; i += 1) expect(await products.productDetails(1, 'app')).toEqual({ id: 11, name: 'App', shortCode: 'app', allowTrial: false, trialDays: 0 });
    expect(reads.byShortCode).toBe(1);
    await products.updateProduct(1, 11, { name: 'App Pro' });
    expect(await products.productDetails(1, 'app')).toEqual({ id: 11, name: 'App Pro', shortCode: 'app', allowTrial: false, trialDays: 0 });
    expect(reads.byShortCode).toBe(2);
    // Another account's product of the same short code is its own entry.
    expect(await products.productDetails(2, 'app')).toBeNull();
    expect(await products.productDetails(2, 'app')).toBeNull();
    expect(reads.byShortCode).toBe(4);
    // After the TTL (a rename made by another process) the product is read again.
    ms += 10_001;
    await products.productDetails(1, 'app');
    expect(reads.byShortCode).toBe(5);
  });
});
