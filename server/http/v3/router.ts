import { Router } from 'express';
import type { MountedApi } from '../../app.js';
import type { Logger } from '../../logger.js';
import type { Services } from '../../services.js';
import { accountsRoutes, wellKnownRoutes } from './accounts.js';
import { activationsRoutes } from './activations.js';
import { v3Authentication } from './auth.js';
import { v3DomainErrors } from './errors.js';
import { meterAttributesRoutes } from './meter-attributes.js';
import { webhooksRoutes } from './webhooks.js';

/** The Web API v3 (under `/v3`) and the public JWKS (at `/.well-known/jwks.json`). */
export function buildV3Apis(deps: { services: Services; logger: Logger }): MountedApi[] {
  const { services, logger } = deps;
  const v3 = Router();
  v3.use(v3Authentication(services));
  // The meter attribute route comes first: `/activations/meter-attributes/...` is not an activation id.
  v3.use(meterAttributesRoutes(services, logger));
  v3.use(activationsRoutes(services, logger));
  v3.use(accountsRoutes(services));
  v3.use(webhooksRoutes(services));
  v3.use(v3DomainErrors);

  const wellKnown = Router();
  wellKnown.use(wellKnownRoutes(services));
  wellKnown.use(v3DomainErrors);
  return [
    { basePath: '/v3', router: v3 },
    { basePath: '/', router: wellKnown },
  ];
}
