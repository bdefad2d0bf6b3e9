/**
 * Consumer contract of the Web API v3 (`/v3/*`, `Authorization: Bearer <access token>`) and the
 * public JWKS (`/.well-known/jwks.json`): the real client against the Pact mock server, one success
 * and at least one documented error interaction per operation. v3 carries ids as strings; the
 * provider states return them as strings, for `fromProviderState` in paths and bodies.
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../../client/index.js';
import { accessTokenHeaders, digits, fromState, isoDateTime, jsonResponseHeaders, jwt, uuid, webApiError } from '../support/matchers.js';
import { states } from '../support/provider-states.js';
import { clientFor, createPact, expectApiError } from './pact.js';

const { like, integer, boolean, eachLike } = MatchersV3;

const KEY = 'ABCD-EFGH-JKLM-NPQR';
const ATTRIBUTE = 'api-calls';
/** A machine fingerprint (the spec asks for 64 to 1024 characters). */
const FINGERPRINT = 'fp-pact-machine-'.padEnd(64, 'x');
/** Example ids the consumer calls with; verification substitutes the ids the provider state returned. */
const ACCOUNT_ID = '1700000000000001';
const PRODUCT_ID = '1000000000000002';
const ACTIVATION_ID = '4a2b6c8d-1e3f-4a5b-8c7d-9e0f1a2b3c4d';
const UNKNOWN_ACTIVATION_ID = '00000000-0000-4000-8000-000000000000';
/** An access token no account has: the provider's request filter leaves it alone. */
const wrongToken = { Authorization: 'Bearer unknown-v3-token' };

const accountId = () => fromState('${accountId}', ACCOUNT_ID);
const productId = () => fromState('${productId}', PRODUCT_ID);
const activationPath = () => fromState('/v3/activations/${activationId}', `/v3/activations/${ACTIVATION_ID}`);
const byActivationId = { params: { path: { id: ACTIVATION_ID } } };

/** What the client sends to activate a machine (and to update its activation). */
const machine = (fingerprint = FINGERPRINT, key = KEY) => ({ os: 'linux' as const, fingerprint, hostname: 'build-01', userHash: 'user-hash', productId: PRODUCT_ID, accountId: ACCOUNT_ID, key });
const machineInPact = (fingerprint = FINGERPRINT, key = KEY) => ({ ...machine(fingerprint, key), productId: productId(), accountId: accountId() });

/** The activation object, as far as the client relies on it. */
const v3Activation = (uses = 0) => ({
  id: uuid(ACTIVATION_ID),
  createdAt: isoDateTime(),
  updatedAt: isoDateTime(),
  os: like('linux'),
  hostname: like('build-01'),
  offline: boolean(false),
  productId: digits(PRODUCT_ID),
  licenseId: digits('1000000000000001'),
  meterAttributes: eachLike({ name: like(ATTRIBUTE), uses: integer(uses) }),
});

const activationToken = () => ({ activationToken: jwt() });

describe('Web API v3 (consumer)', () => {
  const pact = createPact();
  const license = states.v3License({ key: KEY, code: ATTRIBUTE, remaining: 10 });
  const activated = states.v3Activation({ key: KEY, code: ATTRIBUTE, remaining: 10, fingerprint: FINGERPRINT });

  describe('activations', () => {
    it('createActivation: 201 with an activation token', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('createActivation: a new machine')
        .withRequest('POST', '/v3/activations', (req) => req.headers(accessTokenHeaders()).jsonBody(machineInPact()))
        .willRespondWith(201, (res) => res.headers(jsonResponseHeaders()).jsonBody(activationToken()))
        .executeTest(async (mock) => {
          const { activationToken: token } = unwrap(await clientFor(mock.url).POST('/v3/activations', { body: machine() }));
          expect(token.split('.')).toHaveLength(3);
        });
    });

    it('createActivation: 400 INVALID_LICENSE_KEY for an unknown key', async () => {
      await pact
        .addInteraction()
        .given(license.name, license.params)
        .uponReceiving('createActivation: an unknown license key')
        .withRequest('POST', '/v3/activations', (req) => req.headers(accessTokenHeaders()).jsonBody(machineInPact(FINGERPRINT, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ')))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('INVALID_LICENSE_KEY')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/v3/activations', { body: machine(FINGERPRINT, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ') })));
          expect(err).toMatchObject({ status: 400, code: 'INVALID_LICENSE_KEY', dialect: 'v3' });
        });
    });

    it('listActivations: the account’s activations', async () => {
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('listActivations: the first page')
        .withRequest('GET', '/v3/activations', (req) => req.headers(accessTokenHeaders()))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(eachLike(v3Activation())))
        .executeTest(async (mock) => {
          const list = unwrap(await clientFor(mock.url).GET('/v3/activations'));
          expect(list[0]?.meterAttributes[0]?.name).toBe(ATTRIBUTE);
        });
    });

    it('listActivations: 401 AUTHENTICATION_FAILED for an unknown token', async () => {
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('listActivations: an unknown access token')
        .withRequest('GET', '/v3/activations', (req) => req.headers(wrongToken))
        .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('AUTHENTICATION_FAILED')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/v3/activations', { headers: wrongToken })));
          expect(err).toMatchObject({ status: 401, code: 'AUTHENTICATION_FAILED' });
        });
    });

    it('getActivation: the activation', async () => {
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('getActivation: an existing activation')
        .withRequest('GET', activationPath(), (req) => req.headers(accessTokenHeaders()))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v3Activation()))
        .executeTest(async (mock) => {
          const activation = unwrap(await clientFor(mock.url).GET('/v3/activations/{id}', byActivationId));
          expect(activation).toMatchObject({ id: ACTIVATION_ID, productId: PRODUCT_ID });
        });
    });

    it('getActivation: 404 NOT_FOUND for an unknown activation', async () => {
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('getActivation: an unknown activation id')
        .withRequest('GET', `/v3/activations/${UNKNOWN_ACTIVATION_ID}`, (req) => req.headers(accessTokenHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('NOT_FOUND')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/v3/activations/{id}', { params: { path: { id: UNKNOWN_ACTIVATION_ID } } })));
          expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
        });
    });

    it('updateActivation: counts meter attribute uses and answers a fresh token', async () => {
      const body = { ...machine(), meterAttributes: [{ name: ATTRIBUTE, usesIncrement: 2 }] };
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('updateActivation: a sync with 2 meter attribute uses')
        .withRequest('PATCH', activationPath(), (req) => req.headers(accessTokenHeaders()).jsonBody({ ...body, productId: productId(), accountId: accountId() }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(activationToken()))
        .executeTest(async (mock) => {
          const { activationToken: token } = unwrap(await clientFor(mock.url).PATCH('/v3/activations/{id}', { ...byActivationId, body }));
          expect(token.split('.')).toHaveLength(3);
        });
    });

    it('updateActivation: 400 MACHINE_FINGERPRINT_MISMATCH for another machine', async () => {
      const other = 'fp-another-machine-'.padEnd(64, 'y');
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('updateActivation: another machine’s fingerprint')
        .withRequest('PATCH', activationPath(), (req) => req.headers(accessTokenHeaders()).jsonBody(machineInPact(other)))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('MACHINE_FINGERPRINT_MISMATCH')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).PATCH('/v3/activations/{id}', { ...byActivationId, body: machine(other) })));
          expect(err).toMatchObject({ status: 400, code: 'MACHINE_FINGERPRINT_MISMATCH' });
        });
    });

    it('deleteActivation: 204, the seat is freed', async () => {
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('deleteActivation: an existing activation')
        .withRequest('DELETE', activationPath(), (req) => req.headers(accessTokenHeaders()))
        .willRespondWith(204)
        .executeTest(async (mock) => {
          const result = await clientFor(mock.url).DELETE('/v3/activations/{id}', byActivationId);
          expect(result.response.status).toBe(204);
          unwrap(result);
        });
    });

    it('deleteActivation: 404 NOT_FOUND for an unknown activation', async () => {
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('deleteActivation: an unknown activation id')
        .withRequest('DELETE', `/v3/activations/${UNKNOWN_ACTIVATION_ID}`, (req) => req.headers(accessTokenHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('NOT_FOUND')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).DELETE('/v3/activations/{id}', { params: { path: { id: UNKNOWN_ACTIVATION_ID } } })));
          expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
        });
    });
  });

  describe('meter attributes', () => {
    const increment = (amount: number) => ({ increment: amount, activationId: ACTIVATION_ID, accountId: ACCOUNT_ID });
    const incrementInPact = (amount: number) => ({ increment: amount, activationId: fromState('${activationId}', ACTIVATION_ID), accountId: accountId() });
    const path = { params: { path: { id: ATTRIBUTE } } };

    it('incrementActivationMeterAttribute: the uses after the increment', async () => {
      await pact
        .addInteraction()
        .given(activated.name, activated.params)
        .uponReceiving('incrementActivationMeterAttribute: 3 uses of 10 left')
        .withRequest('POST', `/v3/activations/meter-attributes/${ATTRIBUTE}`, (req) => req.headers(accessTokenHeaders()).jsonBody(incrementInPact(3)))
        .willRespondWith(200, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody({ name: ATTRIBUTE, uses: integer(3), licenseAllowedUses: integer(10), licenseTotalUses: integer(3), licenseGrossUses: integer(3) }),
        )
        .executeTest(async (mock) => {
          const uses = unwrap(await clientFor(mock.url).POST('/v3/activations/meter-attributes/{id}', { ...path, body: increment(3) }));
          expect(uses).toEqual({ name: ATTRIBUTE, uses: 3, licenseAllowedUses: 10, licenseTotalUses: 3, licenseGrossUses: 3 });
        });
    });

    it('incrementActivationMeterAttribute: 400 METER_ATTRIBUTE_USES_LIMIT_REACHED when no uses are left', async () => {
      const exhausted = states.v3Activation({ key: KEY, code: ATTRIBUTE, remaining: 0, fingerprint: FINGERPRINT });
      await pact
        .addInteraction()
        .given(exhausted.name, exhausted.params)
        .uponReceiving('incrementActivationMeterAttribute: no uses left')
        .withRequest('POST', `/v3/activations/meter-attributes/${ATTRIBUTE}`, (req) => req.headers(accessTokenHeaders()).jsonBody(incrementInPact(1)))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('METER_ATTRIBUTE_USES_LIMIT_REACHED')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/v3/activations/meter-attributes/{id}', { ...path, body: increment(1) })));
          expect(err).toMatchObject({ status: 400, code: 'METER_ATTRIBUTE_USES_LIMIT_REACHED' });
        });
    });
  });

  describe('accounts and keys', () => {
    const account = states.account();
    const jwk = { kty: 'RSA', kid: like('9c2f0d1e'), n: like('u1SU1LfVLPHCozMxH2Mo'), e: like('AQAB'), alg: like('RS256'), use: like('sig') };

    it('getCurrentAccount: the token’s account and scopes', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getCurrentAccount: a valid access token')
        .withRequest('GET', '/v3/accounts/me', (req) => req.headers(accessTokenHeaders()))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ id: digits(ACCOUNT_ID), name: like('pact-provider-account'), scopes: eachLike('activation:write') }))
        .executeTest(async (mock) => {
          const me = unwrap(await clientFor(mock.url).GET('/v3/accounts/me'));
          expect(me.scopes).toContain('activation:write');
        });
    });

    it('getCurrentAccount: 401 AUTHENTICATION_FAILED for an unknown token', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getCurrentAccount: an unknown access token')
        .withRequest('GET', '/v3/accounts/me', (req) => req.headers(wrongToken))
        .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('AUTHENTICATION_FAILED')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/v3/accounts/me', { headers: wrongToken })));
          expect(err).toMatchObject({ status: 401, code: 'AUTHENTICATION_FAILED' });
        });
    });

    it('getAccountJwks: the account’s public keys', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getAccountJwks: an existing account')
        .withRequest('GET', fromState('/v3/accounts/${accountId}/jwks', `/v3/accounts/${ACCOUNT_ID}/jwks`), (req) => req.headers(accessTokenHeaders()))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ keys: eachLike(jwk) }))
        .executeTest(async (mock) => {
          const { keys } = unwrap(await clientFor(mock.url).GET('/v3/accounts/{accountId}/jwks', { params: { path: { accountId: ACCOUNT_ID } } }));
          expect(keys[0]?.kty).toBe('RSA');
        });
    });

    it('getAccountJwks: 404 NOT_FOUND for an unknown account', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getAccountJwks: an unknown account id')
        .withRequest('GET', '/v3/accounts/999999999/jwks', (req) => req.headers(accessTokenHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('NOT_FOUND')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/v3/accounts/{accountId}/jwks', { params: { path: { accountId: '999999999' } } })));
          expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
        });
    });

    it('getJwks: every account’s public keys', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getJwks: the public JWKS')
        .withRequest('GET', '/.well-known/jwks.json')
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ keys: eachLike(jwk) }))
        .executeTest(async (mock) => {
          const { keys } = unwrap(await clientFor(mock.url).GET('/.well-known/jwks.json'));
          expect(keys[0]?.kty).toBe('RSA');
        });
    });

    it('getJwks: 400 VALIDATION_FAILED for an undocumented query parameter', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('getJwks: a request with an undocumented query parameter')
        .withRequest('GET', '/.well-known/jwks.json', (req) => req.query({ kid: 'x' }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('VALIDATION_FAILED')))
        .executeTest(async (mock) => {
          // @ts-expect-error the operation documents no query parameters: that is the point of this interaction
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/.well-known/jwks.json', { params: { query: { kid: 'x' } } })));
          expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
        });
    });
  });
});
