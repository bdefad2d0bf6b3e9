import { Router } from 'express';
import type { components } from '../../../generated/schema.js';
import { callerOf, requestIdOf } from './auth.js';
import { optionalIdOf, toV3MeterAttributeUses } from './mappers.js';
import type { WebApiDeps } from './router.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import { requestFingerprint } from '../../domain/idempotency.js';

type IncrementBody = components['schemas']['V3IncrementMeterAttributeRequest'];

/** What an increment asks, for its Idempotency-Key: the attribute, the activation, the increment and the ids as sent ("" when left out). */
function incrementFingerprint(attribute: string, body: IncrementBody): string {
  return requestFingerprint(`POST /v3/activations/meter-attributes/${attribute}`, {
    activationId: body.activationId,
    increment: body.increment,
    productId: body.productId ?? '',
    accountId: body.accountId ?? '',
  });
}

/** `POST /v3/activations/meter-attributes/{id}`: change an activation's uses of a meter attribute. */
export function meterAttributesRoutes(services: Pick<WebApiDeps, 'meterAttributeIncrements'>): Router {
  const router = Router();
  router.post('/activations/meter-attributes/:id', async (req, res) => {
    const caller = callerOf(res, 'activation:write');
    const body = req.body as IncrementBody;
    const attribute = String(req.params.id);
    const key = idempotencyKeyOf(req);
    const result = await services.meterAttributeIncrements.increment(caller, {
      attribute,
      activationId: body.activationId,
      amount: body.increment,
      productId: optionalIdOf(body.productId),
      accountId: optionalIdOf(body.accountId),
      requestId: requestIdOf(res),
      idempotency: key === undefined ? undefined : { key, fingerprint: incrementFingerprint(attribute, body) },
    });
    if (result.replayed) res.set('Idempotent-Replayed', 'true');
    res.json(toV3MeterAttributeUses(result.attribute));
  });
  return router;
}
