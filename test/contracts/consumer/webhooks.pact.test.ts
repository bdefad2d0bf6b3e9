/**
 * Consumer contract of the webhook subscription endpoints (`/v3/webhooks...`): the real client against
 * the Pact mock server, one success and one documented error interaction per operation.
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { LicensingApiError, unwrap } from '../../../client/index.js';
import { accessTokenHeaders, fromState, isoDateTime, jsonResponseHeaders, webApiError } from '../support/matchers.js';
import { states } from '../support/provider-states.js';
import { clientFor, createPact, mockServerSettled } from './pact.js';

const { like, regex, eachLike, integer } = MatchersV3;

const URL = 'https://hooks.example.org/licensing';
const SUB_ID = 'wh_3f9a1c2e4b5d6e7f8091a2b3c4d5e6f7';
const DELIVERY_ID = 'dlv_5e1f3a9c0b7d4e2f8a6c1b3d5e7f9a0b';
const UNKNOWN = 'wh_00000000000000000000000000000000';

async function expectApiError(fn: () => Promise<unknown>): Promise<LicensingApiError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LicensingApiError);
  return err as LicensingApiError;
}

function subscriptionBody(extra: Record<string, unknown> = {}) {
  return {
    id: regex('^wh_[0-9a-f]{32}$', SUB_ID),
    url: URL,
    events: ['activation.updated'],
    active: true,
    signatureScheme: 'standard-webhooks',
    healthy: true,
    createdAt: isoDateTime(),
    updatedAt: isoDateTime(),
    ...extra,
  };
}

const secret = () => regex('^whsec_[A-Za-z0-9+/]{43}=$', 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');

const deliveryBody = (status: string, attemptCount: unknown) => ({
  id: fromState('${deliveryId}', DELIVERY_ID),
  eventId: like('8c0f2f7e-2f5b-4c1b-9a53-0f3e1b2c4d5e'),
  event: 'license.updated',
  status,
  attemptCount,
});

describe('webhook subscriptions (consumer)', () => {
  const pact = createPact();

  it('createWebhook: 201 with the secret, once', async () => {
    const { name, params } = states.account();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('createWebhook: a subscription to activation.updated')
      .withRequest('POST', '/v3/webhooks', (req) => req.headers(accessTokenHeaders()).jsonBody({ url: URL, events: ['activation.updated'] }))
      .willRespondWith(201, (res) => res.headers(jsonResponseHeaders()).jsonBody(subscriptionBody({ secret: secret() })))
      .executeTest(async (mock) => {
        const data = unwrap(await clientFor(mock.url).POST('/v3/webhooks', { body: { url: URL, events: ['activation.updated'] } }));
        expect(data.secret).toMatch(/^whsec_/);
        expect(data.signatureScheme).toBe('standard-webhooks');
      });
  });

  it('createWebhook: 400 INVALID_WEBHOOK_URL for a non-http target', async () => {
    const { name, params } = states.account();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('createWebhook: an ftp target')
      .withRequest('POST', '/v3/webhooks', (req) => req.headers(accessTokenHeaders()).jsonBody({ url: 'ftp://hooks.example.org/x', events: ['activation.updated'] }))
      .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('INVALID_WEBHOOK_URL', 'url must use http or https')))
      .executeTest(async (mock) => {
        const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/v3/webhooks', { body: { url: 'ftp://hooks.example.org/x', events: ['activation.updated'] } })));
        expect(err).toMatchObject({ status: 400, code: 'INVALID_WEBHOOK_URL' });
      });
  });

  it('listWebhooks: the account\'s subscriptions, without secrets', async () => {
    const { name, params } = states.webhookSubscription({ url: URL, event: 'activation.updated' });
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('listWebhooks: one subscription')
      .withRequest('GET', '/v3/webhooks', (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(eachLike(subscriptionBody())))
      .executeTest(async (mock) => {
        const data = unwrap(await clientFor(mock.url).GET('/v3/webhooks'));
        expect(data[0]?.secret).toBeUndefined();
      });
  });

  it('listWebhooks: 401 AUTHENTICATION_FAILED with an invalid token', async () => {
    const { name, params } = states.account();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('listWebhooks: an invalid access token')
      .withRequest('GET', '/v3/webhooks', (req) => req.headers({ Authorization: 'Bearer not-a-token' }))
      .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('AUTHENTICATION_FAILED', 'Invalid access token')))
      .executeTest(async (mock) => {
        const res = await fetch(`${mock.url}/v3/webhooks`, { headers: { Authorization: 'Bearer not-a-token' } });
        // Without the client, so without its settle middleware: the same pause (see settleAfterResponse).
        await mockServerSettled();
        expect(res.status).toBe(401);
      });
  });

  for (const [op, method, suffix] of [
    ['getWebhook', 'GET', ''],
    ['updateWebhook', 'PATCH', ''],
    ['deleteWebhook', 'DELETE', ''],
    ['rotateWebhookSecret', 'POST', '/rotate-secret'],
    ['listWebhookDeliveries', 'GET', '/deliveries'],
  ] as const) {
    it(`${op}: 404 NOT_FOUND for an unknown subscription`, async () => {
      const { name, params } = states.account();
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving(`${op}: an unknown subscription`)
        .withRequest(method, `/v3/webhooks/${UNKNOWN}${suffix}`, (req) => (method === 'PATCH' ? req.headers(accessTokenHeaders()).jsonBody({ active: false }) : req.headers(accessTokenHeaders())))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('NOT_FOUND', 'Webhook subscription not found')))
        .executeTest(async (mock) => {
          const c = clientFor(mock.url);
          const path = { params: { path: { id: UNKNOWN } } };
          const err = await expectApiError(async () => {
            if (op === 'getWebhook') return unwrap(await c.GET('/v3/webhooks/{id}', path));
            if (op === 'updateWebhook') return unwrap(await c.PATCH('/v3/webhooks/{id}', { ...path, body: { active: false } }));
            if (op === 'deleteWebhook') return unwrap(await c.DELETE('/v3/webhooks/{id}', path));
            if (op === 'rotateWebhookSecret') return unwrap(await c.POST('/v3/webhooks/{id}/rotate-secret', path));
            return unwrap(await c.GET('/v3/webhooks/{id}/deliveries', path));
          });
          expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
        });
    });
  }

  it('getWebhook: the subscription', async () => {
    const { name, params } = states.webhookSubscription({ url: URL, event: 'activation.updated' });
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getWebhook: an existing subscription')
      .withRequest('GET', fromState('/v3/webhooks/${subscriptionId}', `/v3/webhooks/${SUB_ID}`), (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(subscriptionBody()))
      .executeTest(async (mock) => {
        expect(unwrap(await clientFor(mock.url).GET('/v3/webhooks/{id}', { params: { path: { id: SUB_ID } } })).url).toBe(URL);
      });
  });

  it('updateWebhook: pauses the subscription', async () => {
    const { name, params } = states.webhookSubscription({ url: URL, event: 'activation.updated' });
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('updateWebhook: active false')
      .withRequest('PATCH', fromState('/v3/webhooks/${subscriptionId}', `/v3/webhooks/${SUB_ID}`), (req) => req.headers(accessTokenHeaders()).jsonBody({ active: false }))
      .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(subscriptionBody({ active: false })))
      .executeTest(async (mock) => {
        expect(unwrap(await clientFor(mock.url).PATCH('/v3/webhooks/{id}', { params: { path: { id: SUB_ID } }, body: { active: false } })).active).toBe(false);
      });
  });

  it('deleteWebhook: 204', async () => {
    const { name, params } = states.webhookSubscription({ url: URL, event: 'activation.updated' });
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('deleteWebhook: an existing subscription')
      .withRequest('DELETE', fromState('/v3/webhooks/${subscriptionId}', `/v3/webhooks/${SUB_ID}`), (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(204)
      .executeTest(async (mock) => {
        const res = await clientFor(mock.url).DELETE('/v3/webhooks/{id}', { params: { path: { id: SUB_ID } } });
        expect(res.response.status).toBe(204);
      });
  });

  it('rotateWebhookSecret: a new secret, once', async () => {
    const { name, params } = states.webhookSubscription({ url: URL, event: 'activation.updated' });
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('rotateWebhookSecret: an existing subscription')
      .withRequest('POST', fromState('/v3/webhooks/${subscriptionId}/rotate-secret', `/v3/webhooks/${SUB_ID}/rotate-secret`), (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(subscriptionBody({ secret: secret() })))
      .executeTest(async (mock) => {
        expect(unwrap(await clientFor(mock.url).POST('/v3/webhooks/{id}/rotate-secret', { params: { path: { id: SUB_ID } } })).secret).toMatch(/^whsec_/);
      });
  });

  it('listWebhookDeliveries: the delivery log', async () => {
    const { name, params } = states.webhookDelivery({ url: URL });
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('listWebhookDeliveries: one delivery')
      .withRequest('GET', fromState('/v3/webhooks/${subscriptionId}/deliveries', `/v3/webhooks/${SUB_ID}/deliveries`), (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody([{ ...deliveryBody('pending', integer(0)), createdAt: isoDateTime(), completedAt: null }]))
      .executeTest(async (mock) => {
        const data = unwrap(await clientFor(mock.url).GET('/v3/webhooks/{id}/deliveries', { params: { path: { id: SUB_ID } } }));
        expect(data[0]?.event).toBe('license.updated');
      });
  });

  it('redeliverWebhookDelivery: 202, pending again', async () => {
    const { name, params } = states.webhookDelivery({ url: URL });
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('redeliverWebhookDelivery: an existing delivery')
      .withRequest('POST', fromState('/v3/webhooks/${subscriptionId}/deliveries/${deliveryId}/redeliver', `/v3/webhooks/${SUB_ID}/deliveries/${DELIVERY_ID}/redeliver`), (req) =>
        req.headers(accessTokenHeaders()),
      )
      .willRespondWith(202, (res) => res.headers(jsonResponseHeaders()).jsonBody({ ...deliveryBody('pending', 0), nextAttemptAt: isoDateTime(), completedAt: null }))
      .executeTest(async (mock) => {
        const data = unwrap(await clientFor(mock.url).POST('/v3/webhooks/{id}/deliveries/{deliveryId}/redeliver', { params: { path: { id: SUB_ID, deliveryId: DELIVERY_ID } } }));
        expect(data.status).toBe('pending');
      });
  });

  it('redeliverWebhookDelivery: 404 NOT_FOUND for an unknown delivery', async () => {
    const { name, params } = states.webhookSubscription({ url: URL, event: 'license.updated' });
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('redeliverWebhookDelivery: an unknown delivery')
      .withRequest('POST', fromState('/v3/webhooks/${subscriptionId}/deliveries/dlv_nope/redeliver', `/v3/webhooks/${SUB_ID}/deliveries/dlv_nope/redeliver`), (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('NOT_FOUND', 'Webhook delivery not found')))
      .executeTest(async (mock) => {
        const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/v3/webhooks/{id}/deliveries/{deliveryId}/redeliver', { params: { path: { id: SUB_ID, deliveryId: 'dlv_nope' } } })));
        expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      });
  });
});
