import { Router } from 'express';
import type { components, operations } from '../../../generated/schema.js';
import type { ActivationDetailsInput } from '../../domain/activations.js';
import type { Logger } from '../../logger.js';
import type { Services } from '../../services.js';
import { callerOf, clientIp, requestIdOf, requireAuth } from './auth.js';
import { activationToken } from './activation-token.js';
import { toV3Activation } from './mappers.js';

type CreateBody = components['schemas']['V3CreateActivationRequest'];
type UpdateBody = components['schemas']['V3UpdateActivationRequest'];
type TokenBody = components['schemas']['V3ActivationToken'];
type ListQuery = NonNullable<operations['listActivations']['parameters']['query']>;

function detailsOf(body: CreateBody | UpdateBody, ipAddress: string | undefined): ActivationDetailsInput {
  return {
    os: body.os,
    osVersion: body.osVersion,
    hostname: body.hostname,
    vmName: body.vmName,
    container: body.container,
    userHash: body.userHash,
    releaseVersion: body.releaseVersion,
    releaseChannel: body.releaseChannel,
    releasePlatform: body.releasePlatform,
    releasePublishedAt: body.releasePublishedAt === undefined ? undefined : new Date(body.releasePublishedAt),
    userId: body.userId,
    deviceId: body.deviceId,
    ipAddress,
    leaseDuration: body.leaseDuration,
    metadata: body.metadata?.map((m) => ({ key: m.key, value: m.value })),
  };
}

/** `/v3/activations`: create, read, list, update, delete. */
export function activationsRoutes(services: Services, _logger: Logger): Router {
  const router = Router();

  router.post('/activations', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    const body = req.body as CreateBody;
    const activation = await services.activations.create(caller, {
      productId: body.productId,
      key: body.key,
      accountId: body.accountId,
      fingerprint: body.fingerprint,
      details: detailsOf(body, clientIp(req)),
    });
    const answer: TokenBody = { activationToken: await activationToken(services.activationTokens, activation) };
    res.status(201).json(answer);
  });

  router.get('/activations', async (req, res) => {
    const auth = requireAuth(res, 'activation:read');
    const query = req.query as unknown as ListQuery;
    const limit = Number(query.limit ?? 10);
    const page = Number(query.page ?? 1);
    const activations = await services.activations.list(auth.accountId, query.licenseId, (page - 1) * limit, limit);
    const now = services.clock.now();
    res.json(activations.map((a) => toV3Activation(a, now)));
  });

  router.get('/activations/:id', async (req, res) => {
    const auth = requireAuth(res, 'activation:read');
    const activation = await services.activations.get({ accountId: auth.accountId }, String(req.params.id));
    res.json(toV3Activation(activation, services.clock.now()));
  });

  router.patch('/activations/:id', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    const body = req.body as UpdateBody;
    const activation = await services.activations.update(caller, String(req.params.id), {
      productId: body.productId,
      key: body.key,
      accountId: body.accountId,
      fingerprint: body.fingerprint,
      details: detailsOf(body, clientIp(req)),
      meterAttributes: (body.meterAttributes ?? []).map((m) => ({ name: m.name, amount: m.usesIncrement })),
      requestId: requestIdOf(res),
    });
    const answer: TokenBody = { activationToken: await activationToken(services.activationTokens, activation) };
    res.json(answer);
  });

  router.delete('/activations/:id', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    await services.activations.delete(caller, String(req.params.id));
    res.status(204).end();
  });

  return router;
}
