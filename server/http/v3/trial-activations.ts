import { Router } from 'express';
import type { components } from '../../../generated/schema.js';
import { callerOf, clientIp, requireAuth } from './auth.js';
import { trialActivationToken } from './activation-token.js';
import { activationDetailsOf, idOf, productOf, toV3TrialActivation } from './mappers.js';
import type { WebApiDeps } from './router.js';

type CreateBody = components['schemas']['V3CreateTrialActivationRequest'];
type TokenBody = components['schemas']['V3ActivationToken'];

/** `/v3/trial-activations`: start (or resume) a machine's trial, read and delete it. The trial rule is the domain's (TrialService). */
export function trialActivationsRoutes(services: Pick<WebApiDeps, 'trials' | 'activationTokens' | 'issuers'>): Router {
  const router = Router();

  router.post('/trial-activations', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    const body = req.body as CreateBody;
    const { trial } = await services.trials.startTrial(caller, {
      ...productOf(body),
      fingerprint: body.fingerprint,
      details: activationDetailsOf(body, clientIp(req)),
    });
    const answer: TokenBody = { activationToken: await trialActivationToken(services.activationTokens, services.issuers, trial) };
    res.status(201).json(answer);
  });

  router.get('/trial-activations/:id', async (req, res) => {
    const auth = requireAuth(res, 'activation:read');
    res.json(toV3TrialActivation(await services.trials.findTrial(auth.accountId, idOf(String(req.params.id)))));
  });

  router.delete('/trial-activations/:id', async (req, res) => {
    const auth = requireAuth(res, 'activation:write');
    await services.trials.deleteTrial(auth.accountId, idOf(String(req.params.id)));
    res.status(204).end();
  });

  return router;
}
