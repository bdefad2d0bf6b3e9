import { Router } from 'express';
import type { components, operations } from '../../../generated/schema.js';
import { callerOf, clientIp, requestIdOf, requireAuth } from './auth.js';
import { activationToken } from './activation-token.js';
import { activationDetailsOf, credentialsOf, idOf, toV3Activation } from './mappers.js';
import type { WebApiDeps } from './router.js';

type CreateBody = components['schemas']['V3CreateActivationRequest'];
type UpdateBody = components['schemas']['V3UpdateActivationRequest'];
type TokenBody = components['schemas']['V3ActivationToken'];
type ListQuery = NonNullable<operations['listActivations']['parameters']['query']>;

/** `/v3/activations`: create, read, list, update, delete. */
export function activationsRoutes(services: Pick<WebApiDeps, 'devices' | 'activationTokens' | 'issuers' | 'clock'>): Router {
  const router = Router();

  router.post('/activations', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    const body = req.body as CreateBody;
    const activation = await services.devices.activateByKey(caller, {
      ...credentialsOf(body),
      fingerprint: body.fingerprint,
      details: activationDetailsOf(body, clientIp(req)),
    });
    const answer: TokenBody = { activationToken: await activationToken(services.activationTokens, services.issuers, activation) };
    res.status(201).json(answer);
  });

  router.get('/activations', async (req, res) => {
    const auth = requireAuth(res, 'activation:read');
    const query = req.query as unknown as ListQuery;
    const limit = Number(query.limit ?? 10);
    const page = Number(query.page ?? 1);
    // A license id that cannot be an id names no license: none of its activations.
    const licenseId = query.licenseId === undefined ? undefined : idOf(query.licenseId);
    const activations = licenseId === null ? [] : await services.devices.listActivations(auth.accountId, licenseId === undefined ? {} : { licenseId }, (page - 1) * limit, limit);
    const now = services.clock.now();
    res.json(activations.map((a) => toV3Activation(a, now)));
  });

  router.get('/activations/:id', async (req, res) => {
    const auth = requireAuth(res, 'activation:read');
    const activation = await services.devices.findActivation({ accountId: auth.accountId }, String(req.params.id));
    res.json(toV3Activation(activation, services.clock.now()));
  });

  router.patch('/activations/:id', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    const body = req.body as UpdateBody;
    const activation = await services.devices.updateActivation(caller, String(req.params.id), {
      ...credentialsOf(body),
      fingerprint: body.fingerprint,
      details: activationDetailsOf(body, clientIp(req)),
      usesChanges: (body.meterAttributes ?? []).map((m) => ({ name: m.name, amount: m.usesIncrement })),
      requestId: requestIdOf(res),
    });
    const answer: TokenBody = { activationToken: await activationToken(services.activationTokens, services.issuers, activation) };
    res.json(answer);
  });

  router.delete('/activations/:id', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    await services.devices.deactivateActivation(caller, String(req.params.id));
    res.status(204).end();
  });

  return router;
}
