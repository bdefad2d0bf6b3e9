import { Router } from 'express';
import type { components, operations } from '../../../generated/schema.js';
import { DomainError } from '../../domain/errors.js';
import { accountOf } from './auth.js';
import { productView, trialLicenseView } from './mappers.js';
import { respondSigned } from './response-signing.js';
import type { LicenseApiDeps } from './router.js';

type Schemas = components['schemas'];
type DetailsQuery = operations['getProductDetails']['parameters']['query'];
type TrialQuery = operations['getTrialKey']['parameters']['query'];

/** A boolean query flag as the validator leaves it (the boolean or its text). */
const flag = (value: unknown): boolean => value === true || value === 'true';

/** `product_details` and `trial_key`: what a client asks about a product before it holds a license. */
export function productRoutes(services: Pick<LicenseApiDeps, 'accounts' | 'products' | 'trials'>): Router {
  const router = Router();

  router.get('/product_details', async (req, res) => {
    const query = req.query as unknown as DetailsQuery;
    const product = await services.products.productDetails(accountOf(res).id, query.product);
    if (!product) throw new DomainError('product_not_found', 'Provided product was not found');
    const answer: Schemas['V4Product'] = {
      ...productView(product),
      ...(flag(query.include_custom_fields) ? { custom_fields: [] } : {}),
      ...(flag(query.include_latest_version) ? { latest_version: null } : {}),
    };
    await respondSigned(services.accounts, res, answer);
  });

  router.get('/trial_key', async (req, res) => {
    const query = req.query as unknown as TrialQuery;
    const { license, trialDays } = await services.trials.trialLicense(accountOf(res).id, query.product, query.hardware_id);
    await respondSigned(services.accounts, res, trialLicenseView(license, trialDays));
  });

  return router;
}
