import { Router } from 'express';
import { isDomainError } from '../../domain/errors.js';
import { ApiError } from '../api-error.js';
import { accountOf } from './auth.js';
import { invalidProductReference } from './errors.js';
import { pageOf, paginated } from './pagination.js';
import { periodFromWire, toV1Product, toV1ProductFeature, type Body } from './mappers.js';
import type { ManagementApiDeps } from './router.js';

/** Products and product features. */
export function productRoutes(services: Pick<ManagementApiDeps, 'products' | 'links'>): Router {
  const router = Router();

  router.post('/products/', async (req, res) => {
    const body = req.body as Body<'createV1Product'>;
    const product = await services.products.createProduct(accountOf(res).id, { name: body.product_name, shortCode: body.short_code, allowTrial: body.allow_trial, trialDays: body.trial_days });
    res.status(201).json(toV1Product(product));
  });

  router.get('/products/', async (req, res) => {
    const page = pageOf(req);
    const { items, count } = await services.products.listProducts(accountOf(res).id, page.skip, page.pageSize);
    res.json(paginated(req, services.links, page, count, items.map(toV1Product)));
  });

  router.get('/products/:id/', async (req, res) => {
    res.json(toV1Product(await services.products.getProduct(accountOf(res).id, Number(req.params.id))));
  });

  router.patch('/products/:id/', async (req, res) => {
    const body = req.body as Body<'updateV1Product'>;
    const accountId = accountOf(res).id;
    const current = await services.products.getProduct(accountId, Number(req.params.id));
    if (body.short_code !== undefined && body.short_code !== current.shortCode) {
      throw new ApiError(400, 'short_code_immutable', 'short_code cannot be changed');
    }
    const changes = {
      ...(body.product_name !== undefined ? { name: body.product_name } : {}),
      ...(body.allow_trial !== undefined ? { allowTrial: body.allow_trial } : {}),
      ...(body.trial_days !== undefined ? { trialDays: body.trial_days } : {}),
    };
    const updated = await services.products.updateProduct(accountId, current.id, changes);
    res.json(toV1Product(updated));
  });

  router.post('/product-features/', async (req, res) => {
    const body = req.body as Body<'createV1ProductFeature'>;
    const feature = await services.products
      .addFeature(accountOf(res).id, body.product, {
        code: body.code,
        name: body.name,
        featureType: body.feature_type,
        maxConsumption: body.max_consumption,
        allowOverages: body.allow_overages,
        maxOverages: body.max_overages,
        resetConsumption: body.reset_consumption,
        consumptionPeriod: periodFromWire(body.consumption_period),
        metadata: body.metadata,
      })
      .catch((err: unknown) => {
        throw invalidProductReference(err);
      });
    res.status(201).json(toV1ProductFeature(body.product, feature));
  });

  router.get('/product-features/', async (req, res) => {
    const page = pageOf(req);
    const productId = Number(req.query.product);
    // Another account's (or no) product lists nothing: the filter never reveals what exists.
    const product = await services.products.getProduct(accountOf(res).id, productId).catch((err: unknown) => {
      if (isDomainError(err, 'product_not_found')) return null;
      throw err;
    });
    const features = product?.features ?? [];
    const results = features.slice(page.skip, page.skip + page.pageSize).map((f) => toV1ProductFeature(productId, f));
    res.json(paginated(req, services.links, page, features.length, results));
  });

  return router;
}
