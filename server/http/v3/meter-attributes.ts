import { Router } from 'express';
import type { components } from '../../../generated/schema.js';
import { callerOf, requestIdOf } from './auth.js';
import { toV3MeterAttributeUses } from './mappers.js';
import type { WebApiDeps } from './router.js';
import { idempotencyKeyOf } from '../idempotency-key.js';

type IncrementBody = components['schemas']['V3IncrementMeterAttributeRequest'];

/** `POST /v3/activations/meter-attributes/{id}`: change an activation's uses of a meter attribute. */
export function meterAttributesRoutes(services: Pick<WebApiDeps, 'activations'>): Router {
  const router = Router();
  router.post('/activations/meter-attributes/:id', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    const body = req.body as IncrementBody;
    const result = await services.activations.incrementMeterAttribute(caller, {
      attribute: String(req.params.id),
      activationId: body.activationId,
      amount: body.increment,
      productId: body.productId,
      accountId: body.accountId,
      requestId: requestIdOf(res),
      idempotencyKey: idempotencyKeyOf(req),
    });
    if (result.replayed) res.set('Idempotent-Replayed', 'true');
    res.json(toV3MeterAttributeUses(result.attribute));
  });
  return router;
}
