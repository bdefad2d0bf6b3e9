import { Router } from 'express';
import type { MountedApi } from '../../app.js';
import type { Services } from '../../services.js';
import { accountRoutes } from './account.js';
import { requireManagementKey } from './auth.js';
import { deviceRoutes } from './devices.js';
import { v1DomainErrors } from './errors.js';
import { licenseRoutes } from './licenses.js';
import { productRoutes } from './products.js';

/** The Management API v1 (LicenseSpring-style), mounted at `/api/v1`. */
export function managementApiV1(services: Services): MountedApi {
  const router = Router();
  router.use(requireManagementKey(services.accounts));
  router.use(productRoutes(services));
  router.use(licenseRoutes(services));
  router.use(deviceRoutes(services));
  router.use(accountRoutes(services));
  router.use(v1DomainErrors);
  return { basePath: '/api/v1', router };
}
