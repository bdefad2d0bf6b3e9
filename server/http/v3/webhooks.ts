import { Router } from 'express';
import type { components, operations } from '../../../generated/schema.js';
import { requireAuth } from './auth.js';
import type { WebApiDeps } from './router.js';
import { toV3Delivery, toV3Subscription } from './mappers.js';

type CreateBody = components['schemas']['V3CreateWebhookRequest'];
type UpdateBody = components['schemas']['V3UpdateWebhookRequest'];
type DeliveriesQuery = NonNullable<operations['listWebhookDeliveries']['parameters']['query']>;

/** `/v3/webhooks`: subscriptions, secret rotation, the delivery log and redelivery. */
export function webhooksRoutes(services: Pick<WebApiDeps, 'webhooks'>): Router {
  const router = Router();

  router.post('/webhooks', async (req, res) => {
    const auth = requireAuth(res, 'webhook:write');
    const body = req.body as CreateBody;
    const { subscription, secret } = await services.webhooks.create(auth.accountId, {
      url: body.url,
      events: body.events,
      active: body.active,
      signatureScheme: body.signatureScheme,
    });
    res.status(201).json(toV3Subscription(subscription, secret));
  });

  router.get('/webhooks', async (_req, res) => {
    const auth = requireAuth(res, 'webhook:read');
    res.json((await services.webhooks.list(auth.accountId)).map((s) => toV3Subscription(s)));
  });

  router.get('/webhooks/:id', async (req, res) => {
    const auth = requireAuth(res, 'webhook:read');
    res.json(toV3Subscription(await services.webhooks.get(auth.accountId, String(req.params.id))));
  });

  router.patch('/webhooks/:id', async (req, res) => {
    const auth = requireAuth(res, 'webhook:write');
    const body = req.body as UpdateBody;
    const updated = await services.webhooks.update(auth.accountId, String(req.params.id), {
      url: body.url,
      events: body.events,
      active: body.active,
      signatureScheme: body.signatureScheme,
    });
    res.json(toV3Subscription(updated));
  });

  router.delete('/webhooks/:id', async (req, res) => {
    const auth = requireAuth(res, 'webhook:write');
    await services.webhooks.delete(auth.accountId, String(req.params.id));
    res.status(204).end();
  });

  router.post('/webhooks/:id/rotate-secret', async (req, res) => {
    const auth = requireAuth(res, 'webhook:write');
    const { subscription, secret } = await services.webhooks.rotateSecret(auth.accountId, String(req.params.id));
    res.json(toV3Subscription(subscription, secret));
  });

  router.get('/webhooks/:id/deliveries', async (req, res) => {
    const auth = requireAuth(res, 'webhook:read');
    const query = req.query as unknown as DeliveriesQuery;
    const deliveries = await services.webhooks.listDeliveries(auth.accountId, String(req.params.id), Number(query.limit ?? 50));
    res.json(deliveries.map(toV3Delivery));
  });

  router.post('/webhooks/:id/deliveries/:deliveryId/redeliver', async (req, res) => {
    const auth = requireAuth(res, 'webhook:write');
    const delivery = await services.webhooks.redeliver(auth.accountId, String(req.params.id), String(req.params.deliveryId));
    res.status(202).json(toV3Delivery(delivery));
  });

  return router;
}
