import { Router } from 'express';
import type { MountedApi } from '../../app.js';
import type { AccountService } from '../../domain/accounts.js';
import type { Clock } from '../../domain/clock.js';
import type { ConsumptionService } from '../../domain/consumption.js';
import type { DeviceService } from '../../domain/devices.js';
import type { LicenseDeactivations } from '../../domain/deactivation.js';
import type { IdempotencyService } from '../../domain/idempotency.js';
import type { LicenseCheckService } from '../../domain/license-check.js';
import type { ProductService } from '../../domain/products.js';
import type { TtlCache } from '../../domain/ttl-cache.js';
import { licenseApiAuth } from './auth.js';
import { licenseIdentifiersCheck } from './license-identifiers.js';
import { consumptionRoutes } from './consumption.js';
import type { LicenseApiCredential } from './credential-cache.js';
import { v4DomainErrors } from './errors.js';
import { licenseRoutes } from './license.js';
import { floatingFeatureRoutes } from './floating-features.js';
import { licenseUserRoutes } from './license-users.js';
import type { LicenseUserService } from '../../domain/license-users.js';
import type { FeatureSlotService } from '../../domain/feature-slots.js';
import type { TrialService } from '../../domain/trials.js';
import { productRoutes } from './product.js';

/** What the License API uses of the domain (server/http/apis.ts picks it out of the services). */
export interface LicenseApiDeps {
  accounts: Pick<AccountService, 'authenticateLicenseApiKey' | 'signingKey'>;
  /** License API key lookups (see cachedCredentials). */
  credentials: TtlCache<string, LicenseApiCredential>;
  clock: Clock;
  products: Pick<ProductService, 'productDetails'>;
  devices: Pick<DeviceService, 'activate' | 'deactivate' | 'releaseFloating' | 'borrow' | 'liveSeats'>;
  licenseCheck: Pick<LicenseCheckService, 'locate' | 'check'>;
  featureSlots: Pick<FeatureSlotService, 'check' | 'release' | 'borrow'>;
  consumption: Pick<ConsumptionService, 'consumeLicense' | 'consumeFeature'>;
  deactivations: Pick<LicenseDeactivations, 'deactivate'>;
  idempotency: Pick<IdempotencyService, 'run'>;
  trials: Pick<TrialService, 'trialLicense'>;
  licenseUsers: Pick<LicenseUserService, 'changePassword'>;
}

/**
 * The License API v4 (LicenseSpring-style) at `/api/v4`: signed requests, signed responses, vendor
 * error codes. The adapter template, the same in v1, v3 and v4: this file declares the deps and
 * mounts `auth.ts` (run before request validation: MountedApi.authenticate), one route module per
 * resource (`license.ts`, `consumption.ts`; each takes a Pick of the deps) and the `errors.ts` middleware (every domain error's answer); wire forms map to domain
 * forms and back in `mappers.ts`. A new operation is a route in its resource's module.
 */
export function licenseApiV4(deps: LicenseApiDeps): MountedApi[] {
  const router = Router();
  router.use(licenseRoutes(deps));
  router.use(consumptionRoutes(deps));
  router.use(floatingFeatureRoutes(deps));
  router.use(productRoutes(deps));
  router.use(licenseUserRoutes(deps));
  router.use(v4DomainErrors);
  return [{ basePath: '/api/v4', router, authenticate: licenseApiAuth(deps), beforeValidation: licenseIdentifiersCheck() }];
}
