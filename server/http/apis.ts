import type { MountedApi } from '../app.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import { buildV3Apis } from './v3/router.js';
import { licenseApiRouter } from './v4/router.js';
import { managementApiV1 } from './v1/router.js';

export interface ApiDeps {
  services: Services;
  logger: Logger;
}

/** Every dialect's routers, in mount order. Each dialect adapter adds its own entries here. */
export function buildApis(deps: ApiDeps): MountedApi[] {
  return [managementApiV1(deps.services), { basePath: '/api/v4', router: licenseApiRouter(deps) }, ...buildV3Apis(deps)];
}
