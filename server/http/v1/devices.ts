import { Router } from 'express';
import { accountOf } from './auth.js';
import { pageOf, paginated } from './pagination.js';
import { toV1Device } from './mappers.js';
import type { ManagementApiDeps } from './router.js';
import type { Device } from '../../domain/types.js';

/** Devices (activations): listing and blacklisting. */
export function deviceRoutes(services: Pick<ManagementApiDeps, 'devices' | 'links' | 'licenses' | 'clock'>): Router {
  const router = Router();

  /** The devices as listed, each with whether its license is floating cloud (each license read once). */
  async function views(accountId: number, devices: Device[]) {
    const floating = new Map<number, boolean>();
    for (const id of new Set(devices.map((d) => d.licenseId))) {
      floating.set(id, await services.licenses.getLicense(accountId, id).then((l) => l.isFloatingCloud, () => false));
    }
    const now = services.clock.now();
    return devices.map((d) => toV1Device(d, now, floating.get(d.licenseId) ?? false));
  }

  router.get('/devices/', async (req, res) => {
    const page = pageOf(req);
    const license = req.query.license;
    const { items, count } = await services.devices.listDevices(
      accountOf(res).id,
      license !== undefined ? { licenseId: Number(license) } : {},
      page.skip,
      page.pageSize,
    );
    res.json(paginated(req, services.links, page, count, await views(accountOf(res).id, items)));
  });

  for (const [action, blacklisted] of [['blacklist', true], ['unblacklist', false]] as const) {
    router.post(`/devices/:id/${action}/`, async (req, res) => {
      const device = await services.devices.setBlacklisted(accountOf(res).id, Number(req.params.id), blacklisted);
      res.json((await views(accountOf(res).id, [device]))[0]);
    });
  }

  return router;
}
