import { Router } from 'express';
import { accountOf } from './auth.js';
import { pageOf, paginated } from './pagination.js';
import { toV1Device } from './mappers.js';
import type { ManagementApiDeps } from './router.js';

/** Devices (activations): listing and blacklisting. */
export function deviceRoutes(services: Pick<ManagementApiDeps, 'devices' | 'links'>): Router {
  const router = Router();

  router.get('/devices/', async (req, res) => {
    const page = pageOf(req);
    const license = req.query.license;
    const { items, count } = await services.devices.listDevices(
      accountOf(res).id,
      license !== undefined ? { licenseId: Number(license) } : {},
      page.skip,
      page.pageSize,
    );
    res.json(paginated(req, services.links, page, count, items.map(toV1Device)));
  });

  for (const [action, blacklisted] of [['blacklist', true], ['unblacklist', false]] as const) {
    router.post(`/devices/:id/${action}/`, async (req, res) => {
      res.json(toV1Device(await services.devices.setBlacklisted(accountOf(res).id, Number(req.params.id), blacklisted)));
    });
  }

  return router;
}
