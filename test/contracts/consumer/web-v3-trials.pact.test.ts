/**
 * Consumer contract of the Web API v3 trial activations (`/v3/trial-activations`): start a machine's
 * trial, read it and delete it, each with a success and a documented error interaction. Ids are
 * strings, returned by the provider states for `fromProviderState`.
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../../client/index.js';
import { accessTokenHeaders, digits, fromState, isoDateTime, jsonResponseHeaders, jwt, webApiError } from '../support/matchers.js';
import { states } from '../support/provider-states.js';
import { clientFor, createPact, expectApiError } from './pact.js';

const { like, boolean } = MatchersV3;

const TRIAL_DAYS = 14;
/** The machine whose trial the trial activation state started, and another one. */
const FINGERPRINT = 'fp-pact-trial-machine-'.padEnd(64, 'x');
const NEW_MACHINE = 'fp-pact-new-trial-machine-'.padEnd(64, 'y');
/** Example ids the consumer calls with; verification substitutes the ids the provider state returned. */
const ACCOUNT_ID = '1700000000000001';
const PRODUCT_ID = '1000000000000002';
const TRIAL_ID = '1000000000000003';
const UNKNOWN_TRIAL_ID = '1';

const trialPath = () => fromState('/v3/trial-activations/${trialActivationId}', `/v3/trial-activations/${TRIAL_ID}`);
const byTrialId = { params: { path: { id: TRIAL_ID } } };

/** What the client sends to start a trial on a machine. */
const machine = (fingerprint = NEW_MACHINE) => ({ os: 'linux' as const, fingerprint, hostname: 'build-01', userHash: 'user-hash', productId: PRODUCT_ID, accountId: ACCOUNT_ID });
const machineInPact = (fingerprint = NEW_MACHINE) => ({ ...machine(fingerprint), productId: fromState('${productId}', PRODUCT_ID), accountId: fromState('${accountId}', ACCOUNT_ID) });

describe('Web API v3 trial activations (consumer)', () => {
  const pact = createPact();
  const trialProduct = states.v3TrialProduct({ allowTrial: true, trialDays: TRIAL_DAYS });
  const noTrials = states.v3TrialProduct({ allowTrial: false, trialDays: 0 });
  const started = states.v3TrialActivation({ trialDays: TRIAL_DAYS, fingerprint: FINGERPRINT });

  it('createTrialActivation: 201 with an activation token', async () => {
    await pact
      .addInteraction()
      .given(trialProduct.name, trialProduct.params)
      .uponReceiving('createTrialActivation: a machine without a trial on a product that allows trials')
      .withRequest('POST', '/v3/trial-activations', (req) => req.headers(accessTokenHeaders()).jsonBody(machineInPact()))
      .willRespondWith(201, (res) => res.headers(jsonResponseHeaders()).jsonBody({ activationToken: jwt() }))
      .executeTest(async (mock) => {
        const { activationToken } = unwrap(await clientFor(mock.url).POST('/v3/trial-activations', { body: machine() }));
        expect(activationToken.split('.')).toHaveLength(3);
      });
  });

  it('createTrialActivation: 400 TRIAL_NOT_ALLOWED for a product without trials', async () => {
    await pact
      .addInteraction()
      .given(noTrials.name, noTrials.params)
      .uponReceiving('createTrialActivation: a product that does not allow trials')
      .withRequest('POST', '/v3/trial-activations', (req) => req.headers(accessTokenHeaders()).jsonBody(machineInPact()))
      .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('TRIAL_NOT_ALLOWED')))
      .executeTest(async (mock) => {
        const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/v3/trial-activations', { body: machine() })));
        expect(err).toMatchObject({ status: 400, code: 'TRIAL_NOT_ALLOWED', dialect: 'v3' });
      });
  });

  it('getTrialActivation: the trial activation', async () => {
    await pact
      .addInteraction()
      .given(started.name, started.params)
      .uponReceiving('getTrialActivation: an existing trial activation')
      .withRequest('GET', trialPath(), (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(200, (res) =>
        res.headers(jsonResponseHeaders()).jsonBody({
          id: fromState('${trialActivationId}', TRIAL_ID),
          createdAt: isoDateTime(),
          os: like('linux'),
          hostname: like('build-01'),
          offline: boolean(false),
          productId: digits(PRODUCT_ID),
          expiresAt: isoDateTime(),
        }),
      )
      .executeTest(async (mock) => {
        const trial = unwrap(await clientFor(mock.url).GET('/v3/trial-activations/{id}', byTrialId));
        expect(trial).toMatchObject({ id: TRIAL_ID, productId: PRODUCT_ID });
      });
  });

  it('getTrialActivation: 404 NOT_FOUND for an unknown trial activation', async () => {
    await pact
      .addInteraction()
      .given(started.name, started.params)
      .uponReceiving('getTrialActivation: an unknown trial activation id')
      .withRequest('GET', `/v3/trial-activations/${UNKNOWN_TRIAL_ID}`, (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('NOT_FOUND')))
      .executeTest(async (mock) => {
        const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/v3/trial-activations/{id}', { params: { path: { id: UNKNOWN_TRIAL_ID } } })));
        expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      });
  });

  it('deleteTrialActivation: 204', async () => {
    await pact
      .addInteraction()
      .given(started.name, started.params)
      .uponReceiving('deleteTrialActivation: an existing trial activation')
      .withRequest('DELETE', trialPath(), (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(204)
      .executeTest(async (mock) => {
        const result = await clientFor(mock.url).DELETE('/v3/trial-activations/{id}', byTrialId);
        expect(result.response.status).toBe(204);
        unwrap(result);
      });
  });

  it('deleteTrialActivation: 404 NOT_FOUND for an unknown trial activation', async () => {
    await pact
      .addInteraction()
      .given(started.name, started.params)
      .uponReceiving('deleteTrialActivation: an unknown trial activation id')
      .withRequest('DELETE', `/v3/trial-activations/${UNKNOWN_TRIAL_ID}`, (req) => req.headers(accessTokenHeaders()))
      .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('NOT_FOUND')))
      .executeTest(async (mock) => {
        const err = await expectApiError(async () => unwrap(await clientFor(mock.url).DELETE('/v3/trial-activations/{id}', { params: { path: { id: UNKNOWN_TRIAL_ID } } })));
        expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      });
  });
});
