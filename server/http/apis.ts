import type { MountedApi } from '../app.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';

export interface ApiDeps {
  services: Services;
  logger: Logger;
}

/** Every dialect's routers, in mount order. Each dialect adapter adds its own entries here. */
export function buildApis(_deps: ApiDeps): MountedApi[] {
  return [];
}
