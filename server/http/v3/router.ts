import { Router } from 'express';
import type { MountedApi } from '../../app.js';
import type { AccountService } from '../../domain/accounts.js';
import type { ActivationTokenSigner } from '../../domain/activation-tokens.js';
import type { Clock } from '../../domain/clock.js';
import type { DeviceService } from '../../domain/devices.js';
import type { MeterAttributeIncrements } from '../../domain/meter-attribute-increments.js';
import type { TrialService } from '../../domain/trials.js';
import type { WebhookService } from '../../domain/webhooks.js';
import { accountsRoutes, wellKnownRoutes } from './accounts.js';
import type { TokenIssuers } from './activation-token.js';
import { activationsRoutes } from './activations.js';
import { v3Authentication } from './auth.js';
import { v3DomainErrors } from './errors.js';
import { meterAttributesRoutes } from './meter-attributes.js';
import { trialActivationsRoutes } from './trial-activations.js';
import { webhooksRoutes } from './webhooks.js';

/** What the Web API v3 uses of the domain (server/http/apis.ts picks it out of the services). */
export interface WebApiDeps {
  accounts: Pick<AccountService, 'authenticateAccessToken' | 'publicJwks'>;
  clock: Clock;
  devices: Pick<DeviceService, 'activateByKey' | 'findActivation' | 'listActivations' | 'updateActivation' | 'deactivateActivation'>;
  meterAttributeIncrements: Pick<MeterAttributeIncrements, 'increment'>;
  activationTokens: Pick<ActivationTokenSigner, 'sign'>;
  trials: Pick<TrialService, 'startTrial' | 'findTrial' | 'deleteTrial'>;
  /** Where activation token issuers start. */
  issuers: TokenIssuers;
  webhooks: Pick<WebhookService, 'create' | 'list' | 'get' | 'update' | 'delete' | 'rotateSecret' | 'listDeliveries' | 'redeliver'>;
}

/**
 * The Web API v3 (Cryptlex-style) at `/v3`, and the public JWKS at `/.well-known/jwks.json`. The
 * adapter template, the same in v1, v3 and v4: this file declares the deps and mounts `auth.ts`, one
 * route module per resource (`activations.ts`, `meter-attributes.ts`, `trial-activations.ts`, `accounts.ts`, `webhooks.ts`;
 * each takes a Pick of the deps) and the `errors.ts` middleware (every domain error's answer); wire
 * forms map to domain forms and back in `mappers.ts`. A new operation is a route in its resource's module.
 */
export function webApiV3(deps: WebApiDeps): MountedApi[] {
  const v3 = Router();
  v3.use(v3Authentication(deps.accounts));
  // The meter attribute route comes first: `/activations/meter-attributes/...` is not an activation id.
  v3.use(meterAttributesRoutes(deps));
  v3.use(activationsRoutes(deps));
  v3.use(trialActivationsRoutes(deps));
  v3.use(accountsRoutes(deps));
  v3.use(webhooksRoutes(deps));
  v3.use(v3DomainErrors);

  const wellKnown = Router();
  wellKnown.use(wellKnownRoutes(deps));
  wellKnown.use(v3DomainErrors);
  return [
    { basePath: '/v3', router: v3 },
    { basePath: '/', router: wellKnown },
  ];
}
