import { Router } from 'express';
import type { MountedApi } from '../../app.js';
import type { AccountService } from '../../domain/accounts.js';
import type { Clock } from '../../domain/clock.js';
import type { DeviceService } from '../../domain/devices.js';
import type { LicenseAdminService } from '../../domain/license-admin.js';
import type { LicenseService } from '../../domain/licenses.js';
import type { LicenseUserService } from '../../domain/license-users.js';
import type { ProductService } from '../../domain/products.js';
import type { UsageService } from '../../domain/usage.js';
import { accountRoutes } from './account.js';
import { requireManagementKey } from './auth.js';
import { deviceRoutes } from './devices.js';
import { v1DomainErrors } from './errors.js';
import { licenseRoutes } from './licenses.js';
import { licenseUserRoutes } from './license-users.js';
import type { PageLinks } from './pagination.js';
import { productRoutes } from './products.js';
import { usageRoutes } from './usage.js';

/** What the Management API uses of the domain (server/http/apis.ts picks it out of the services). */
export interface ManagementApiDeps {
  accounts: Pick<AccountService, 'authenticateManagementKey' | 'signingKey'>;
  clock: Clock;
  products: Pick<ProductService, 'createProduct' | 'listProducts' | 'getProduct' | 'updateProduct' | 'addFeature'>;
  licenses: Pick<LicenseService, 'createLicense' | 'getLicense'>;
  licenseAdmin: Pick<LicenseAdminService, 'listLicenses' | 'updateLicense' | 'setEnabled' | 'resetConsumption' | 'updateFeatures'>;
  devices: Pick<DeviceService, 'listDevices' | 'setBlacklisted' | 'liveSeats'>;
  licenseUsers: Pick<LicenseUserService, 'createUser' | 'getUser' | 'listUsers' | 'totalLicenses' | 'updateUser' | 'setPassword' | 'deleteUser' | 'assignUser' | 'unassignUser'>;
  /** Usage reports and ledger pages of licenses. */
  usage: Pick<UsageService, 'report' | 'productReport' | 'ledgerPage' | 'ledgerEntries'>;
  /** Where the absolute pagination links start. */
  links: PageLinks;
}

/**
 * The Management API v1 (LicenseSpring-style) at `/api/v1`. The adapter template, the same in v1,
 * v3 and v4: this file declares the deps and mounts `auth.ts`, one route module per resource
 * (`products.ts`, `licenses.ts`, `usage.ts`, `devices.ts`, `account.ts`; each takes a Pick of the deps) and the
 * `errors.ts` middleware (every domain error's answer); wire forms map to domain forms and back in
 * `mappers.ts`. A new operation is a route in its resource's module.
 */
export function managementApiV1(deps: ManagementApiDeps): MountedApi[] {
  const router = Router();
  router.use(requireManagementKey(deps.accounts));
  router.use(productRoutes(deps));
  router.use(licenseRoutes(deps));
  router.use(usageRoutes(deps));
  router.use(licenseUserRoutes(deps));
  router.use(deviceRoutes(deps));
  router.use(accountRoutes(deps));
  router.use(v1DomainErrors);
  return [{ basePath: '/api/v1', router }];
}
