import { Router, type Request } from 'express';
import type { License, Product } from '../../domain/types.js';
import { DomainError } from '../../domain/errors.js';
import { accountOf } from './auth.js';
import { invalidProductReference } from './errors.js';
import { pageOf, paginated } from './pagination.js';
import { featureSettingsFromWire, licenseSettingsFromWire, toV1License, type Body } from './mappers.js';
import type { ManagementApiDeps } from './router.js';

const idOf = (req: Request): number => Number(req.params.id);

/** The new license's key: the given one, generated (undefined), or none for a user-based license (null). */
function keyOf(body: Body<'createV1License'>): string | null | undefined {
  if (!body.user_based) return body.license_key;
  if (body.license_key !== undefined) throw new DomainError('invalid_input', 'A user-based license has no license_key: send license_key or user_based, not both', { field: 'license_key' });
  return null;
}

/** Licenses, including `update_features`. Every endpoint answers with the full license object. */
export function licenseRoutes(services: Pick<ManagementApiDeps, 'clock' | 'products' | 'licenses' | 'licenseAdmin' | 'links' | 'devices'>): Router {
  const router = Router();

  /** License objects with their products (each product read once). */
  async function render(accountId: number, licenses: License[]) {
    const products = new Map<number, Product | null>();
    for (const id of new Set(licenses.map((l) => l.productId))) {
      // A product deleted since is shown as such; any other failure (the database away) is the request's.
      products.set(
        id,
        await services.products.getProduct(accountId, id).catch((err: unknown) => {
          if (err instanceof DomainError && err.code === 'product_not_found') return null;
          throw err;
        }),
      );
    }
    const now = services.clock.now();
    const inUse = await Promise.all(licenses.map((l) => (l.isFloatingCloud ? services.devices.liveSeats(l) : 0)));
    return licenses.map((l, i) => toV1License(l, products.get(l.productId) ?? null, now, inUse[i]!));
  }
  const one = async (accountId: number, license: License) => (await render(accountId, [license]))[0]!;

  router.post('/licenses/', async (req, res) => {
    const body = req.body as Body<'createV1License'>;
    const accountId = accountOf(res).id;
    const license = await services.licenses
      .createLicense(accountId, {
        ...licenseSettingsFromWire(body),
        productId: body.product,
        key: keyOf(body),
        type: body.license_type,
        maxActivations: body.max_activations,
        features: body.product_features?.map(featureSettingsFromWire),
      })
      .catch((err: unknown) => {
        throw invalidProductReference(err);
      });
    res.status(201).json(await one(accountId, license));
  });

  router.get('/licenses/', async (req, res) => {
    const accountId = accountOf(res).id;
    const page = pageOf(req);
    const q = req.query as { product?: unknown; license_key?: unknown; enabled?: unknown };
    const { items, count } = await services.licenseAdmin.listLicenses(
      accountId,
      {
        productId: q.product !== undefined ? Number(q.product) : undefined,
        key: q.license_key !== undefined ? String(q.license_key) : undefined,
        enabled: q.enabled !== undefined ? q.enabled === true || q.enabled === 'true' : undefined,
      },
      page.skip,
      page.pageSize,
    );
    res.json(paginated(req, services.links, page, count, await render(accountId, items)));
  });

  router.get('/licenses/:id/', async (req, res) => {
    const accountId = accountOf(res).id;
    res.json(await one(accountId, await services.licenses.getLicense(accountId, idOf(req))));
  });

  router.patch('/licenses/:id/', async (req, res) => {
    const body = req.body as Body<'updateV1License'>;
    const accountId = accountOf(res).id;
    const license = await services.licenseAdmin.updateLicense(accountId, idOf(req), { ...licenseSettingsFromWire(body), type: body.license_type });
    res.json(await one(accountId, license));
  });

  router.post('/licenses/:id/disable/', async (req, res) => {
    const accountId = accountOf(res).id;
    res.json(await one(accountId, await services.licenseAdmin.setEnabled(accountId, idOf(req), false)));
  });

  router.post('/licenses/:id/enable/', async (req, res) => {
    const accountId = accountOf(res).id;
    res.json(await one(accountId, await services.licenseAdmin.setEnabled(accountId, idOf(req), true)));
  });

  router.post('/licenses/:id/reset_consumption/', async (req, res) => {
    const accountId = accountOf(res).id;
    const license = await services.licenseAdmin.resetConsumption(accountId, idOf(req), res.locals.requestId as string | undefined);
    res.json(await one(accountId, license));
  });

  router.post('/licenses/:id/update_features/', async (req, res) => {
    const body = req.body as Body<'updateV1LicenseFeatures'>;
    const accountId = accountOf(res).id;
    const license = await services.licenseAdmin.updateFeatures(
      accountId,
      idOf(req),
      body.product_features.map(featureSettingsFromWire),
      res.locals.requestId as string | undefined,
    );
    res.json(await one(accountId, license));
  });

  return router;
}
