import { Router, type Request } from 'express';
import type { components } from '../../../generated/schema.js';
import type { LicenseUserRecord } from '../../domain/types.js';
import { ApiError } from '../api-error.js';
import { accountOf } from './auth.js';
import { pageOf, paginated } from './pagination.js';
import type { Body } from './mappers.js';
import type { ManagementApiDeps } from './router.js';

type V1LicenseUserDetails = components['schemas']['V1LicenseUserDetails'];

const idOf = (req: Request): number => Number(req.params.id);

/** A license user as the Management API shows it; `shownPassword`: the password the answering call set (shown once), else null. */
export function toV1LicenseUserDetails(user: LicenseUserRecord, totalLicenses: number, shownPassword: string | null = null): V1LicenseUserDetails {
  return {
    id: user.id,
    last_login: user.lastLogin ? user.lastLogin.toISOString() : null,
    email: user.email,
    true_email: user.email,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    is_active: user.isActive,
    is_manager: false,
    initial_password: shownPassword,
    is_initial_password: user.isInitialPassword,
    first_name: user.firstName,
    last_name: user.lastName,
    phone_number: user.phoneNumber,
    total_licenses: totalLicenses,
    customer_accounts: [],
    metadata: user.metadata,
  };
}

/** License users (`/license-users/`) and their assignment to licenses (`/licenses/{id}/assign_user/`, `/unassign_user/`). */
export function licenseUserRoutes(services: Pick<ManagementApiDeps, 'licenseUsers' | 'links'>): Router {
  const router = Router();
  const users = services.licenseUsers;
  const shown = async (user: LicenseUserRecord) => toV1LicenseUserDetails(user, await users.totalLicenses(user.accountId, user.id));

  router.post('/license-users/', async (req, res) => {
    const body = req.body as Body<'createV1LicenseUser'>;
    const { user, password } = await users.createUser(accountOf(res).id, {
      email: body.email,
      password: body.password,
      firstName: body.first_name,
      lastName: body.last_name,
      phoneNumber: body.phone_number,
      metadata: body.metadata,
    });
    res.json(toV1LicenseUserDetails(user, 0, password));
  });

  router.get('/license-users/', async (req, res) => {
    const page = pageOf(req);
    const email = req.query.true_email__iexact;
    const { items, count } = await users.listUsers(accountOf(res).id, { email: typeof email === 'string' ? email : undefined }, page.skip, page.pageSize);
    res.json(paginated(req, services.links, page, count, await Promise.all(items.map(shown))));
  });

  router.get('/license-users/:id/', async (req, res) => {
    res.json(await shown(await users.getUser(accountOf(res).id, idOf(req))));
  });

  router.patch('/license-users/:id/', async (req, res) => {
    const body = req.body as Body<'updateV1LicenseUser'>;
    const user = await users.updateUser(accountOf(res).id, idOf(req), {
      email: body.email,
      firstName: body.first_name,
      lastName: body.last_name,
      phoneNumber: body.phone_number,
      isActive: body.is_active,
      metadata: body.metadata,
    });
    res.json(await shown(user));
  });

  router.delete('/license-users/:id/', async (req, res) => {
    await users.deleteUser(accountOf(res).id, idOf(req));
    res.status(204).end();
  });

  router.post('/license-users/:id/set_password/', async (req, res) => {
    const body = req.body as Body<'setV1LicenseUserPassword'>;
    await users.setPassword(accountOf(res).id, idOf(req), body.password);
    res.json({ message: 'Password set.' });
  });

  router.post('/licenses/:id/assign_user/', async (req, res) => {
    const body = req.body as Body<'assignV1LicenseUser'>;
    const { newPassword } = await users.assignUser(accountOf(res).id, idOf(req), {
      email: body.email,
      password: body.password,
      firstName: body.first_name,
      lastName: body.last_name,
      phoneNumber: body.phone_number,
    });
    const answer: components['schemas']['V1AssignLicenseUserResult'] = { message: 'License assigned.', new_password: newPassword };
    res.json(answer);
  });

  router.post('/licenses/:id/unassign_user/', async (req, res) => {
    const body = req.body as Body<'unassignV1LicenseUser'>;
    // The body names the user by exactly one of the two (documented in V1UnassignLicenseUserRequest).
    if (body.license_user_id === undefined && body.license_user_email === undefined) {
      throw new ApiError(400, 'validation_failed', 'license_user_id or license_user_email is required');
    }
    if (body.license_user_id !== undefined && body.license_user_email !== undefined) {
      throw new ApiError(400, 'validation_failed', 'Send either license_user_id or license_user_email, not both');
    }
    const ref = body.license_user_id !== undefined ? { id: body.license_user_id } : { email: body.license_user_email! };
    await users.unassignUser(accountOf(res).id, idOf(req), ref);
    res.json({ message: 'License unassigned.' });
  });

  return router;
}
