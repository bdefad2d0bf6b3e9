import { Router } from 'express';
import type { components } from '../../../generated/schema.js';
import { accountOf } from './auth.js';
import type { ManagementApiDeps } from './router.js';

/** The calling account and the public key its License API responses are verified with. */
export function accountRoutes(services: Pick<ManagementApiDeps, 'accounts'>): Router {
  const router = Router();
  router.get('/account/', async (_req, res) => {
    const account = accountOf(res);
    const key = await services.accounts.signingKey(account.id);
    const body: components['schemas']['V1Account'] = { id: account.id, name: account.name, public_key: key.publicKeyPem, public_key_id: key.kid };
    res.json(body);
  });
  return router;
}
