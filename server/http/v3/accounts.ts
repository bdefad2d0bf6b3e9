import { Router } from 'express';
import type { components } from '../../../generated/schema.js';
import { ApiError } from '../api-error.js';
import { requireAuth } from './auth.js';
import type { WebApiDeps } from './router.js';
import { idOf } from './mappers.js';

type AccountMe = components['schemas']['V3AccountMe'];
type Jwks = components['schemas']['V3Jwks'];

/** `/v3/accounts/me` and `/v3/accounts/{accountId}/jwks`. */
export function accountsRoutes(services: Pick<WebApiDeps, 'accounts'>): Router {
  const router = Router();
  router.get('/accounts/me', (_req, res) => {
    const auth = requireAuth(res, 'account:read');
    const answer: AccountMe = { id: String(auth.accountId), name: auth.accountName, scopes: auth.scopes };
    res.json(answer);
  });
  router.get('/accounts/:accountId/jwks', async (req, res) => {
    const id = idOf(String(req.params.accountId));
    const keys = id !== null ? await services.accounts.publicJwks(id) : [];
    if (keys.length === 0) throw new ApiError(404, 'not_found', 'Account not found');
    res.json({ keys } as unknown as Jwks);
  });
  return router;
}

/** `/.well-known/jwks.json`: every account's active public keys. */
export function wellKnownRoutes(services: Pick<WebApiDeps, 'accounts'>): Router {
  const router = Router();
  router.get('/.well-known/jwks.json', async (_req, res) => {
    res.json({ keys: await services.accounts.publicJwks() } as unknown as Jwks);
  });
  return router;
}
