import type { MountedApi } from '../app.js';
import type { Services } from '../services.js';
import type { PublicUrls } from './public-url.js';
import { managementApiV1 } from './v1/router.js';
import { webApiV3 } from './v3/router.js';
import { licenseApiV4 } from './v4/router.js';

/** Every dialect's routers, in mount order, each given only the services its deps interface names. */
export function buildApis(services: Services, urls: PublicUrls): MountedApi[] {
  const { accounts, clock, products, licenses, licenseAdmin, devices, meterAttributeIncrements, activationTokens, webhooks, licenseCheck, consumption, idempotency } = services;
  return [
    ...managementApiV1({ accounts, clock, products, licenses, licenseAdmin, devices, licenseUsers: services.licenseUsers, usage: services.usage, links: urls }),
    ...licenseApiV4({ accounts, credentials: services.caches.licenseApiCredentials, clock, products, devices, licenseCheck, featureSlots: services.featureSlots, consumption, deactivations: services.deactivations, idempotency, trials: services.trials, licenseUsers: services.licenseUsers }),
    ...webApiV3({ accounts, clock, devices, meterAttributeIncrements, activationTokens, trials: services.trials, issuers: urls, webhooks }),
  ];
}
