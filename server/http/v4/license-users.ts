import { Router } from 'express';
import type { components } from '../../../generated/schema.js';
import { accountOf } from './auth.js';
import { respondSigned } from './response-signing.js';
import type { LicenseApiDeps } from './router.js';

type Schemas = components['schemas'];

/** `change_password`: a license user of a user-based license changes its own password. */
export function licenseUserRoutes(services: Pick<LicenseApiDeps, 'accounts' | 'licenseUsers'>): Router {
  const router = Router();

  router.post('/change_password', async (req, res) => {
    const body = req.body as Schemas['V4ChangePasswordRequest'];
    await services.licenseUsers.changePassword(accountOf(res).id, body.username, body.password, body.new_password);
    const answer: Schemas['V4ChangePasswordResult'] = 'password changed';
    await respondSigned(services.accounts, res, answer);
  });

  return router;
}
