/**
 * Consumer contract of user-based licenses: the Management API's license users
 * (`/api/v1/license-users/*`, `assign_user`, `unassign_user`) and the License API's `change_password`,
 * one success and at least one documented error interaction per operation.
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../../client/index.js';
import { fromState, isoDateTime, jsonResponseHeaders, licenseApiAuthHeaders, licenseApiError, managementAuthHeaders, signedJsonResponseHeaders } from '../support/matchers.js';
import { states } from '../support/provider-states.js';
import { clientFor, createPact, expectApiError } from './pact.js';

const { like, integer, boolean, eachLike } = MatchersV3;

const EMAIL = 'jane@example.com';
const PASSWORD = 'correct horse';
const LICENSE_ID = 1000000000000001;
const USER_ID = 1000000000000006;
/** An id no state ever generates (generated ids have 16 digits). */
const UNKNOWN_ID = 999999999;
const wrongKey = { Authorization: 'Api-Key unknown-management-key' };
const dateHeader = () => ({ Date: new Date().toUTCString() });

/** A license user as the client relies on it. */
const v1LicenseUser = (overrides: Record<string, unknown> = {}) => ({
  id: integer(USER_ID),
  email: like(EMAIL),
  true_email: like(EMAIL),
  is_active: boolean(true),
  initial_password: null,
  is_initial_password: boolean(true),
  first_name: like(''),
  last_name: like(''),
  total_licenses: integer(1),
  created_at: isoDateTime(),
  updated_at: isoDateTime(),
  ...overrides,
});

describe('License users (consumer)', () => {
  const pact = createPact();
  const account = states.account();
  const seeded = states.userBasedLicense({ email: EMAIL, password: PASSWORD });
  const full = states.userBasedLicense({ email: EMAIL, password: PASSWORD, maxLicenseUsers: 1 });
  const userPath = (suffix = '') => fromState(`/api/v1/license-users/\${userId}/${suffix}`, `/api/v1/license-users/${USER_ID}/${suffix}`);
  const licensePath = (action: string) => fromState(`/api/v1/licenses/\${licenseId}/${action}/`, `/api/v1/licenses/${LICENSE_ID}/${action}/`);
  const byUser = { params: { path: { id: USER_ID } } };
  const byLicense = { params: { path: { id: LICENSE_ID } } };
  const unknown = { params: { path: { id: UNKNOWN_ID } } };

  describe('license-users', () => {
    it('createV1LicenseUser: 200 with the new user and its password, shown once', async () => {
      const body = { email: EMAIL, password: 'pass123' };
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('createV1LicenseUser: a new email with a password')
        .withRequest('POST', '/api/v1/license-users/', (req) => req.headers(managementAuthHeaders()).jsonBody(body))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v1LicenseUser({ initial_password: 'pass123', total_licenses: integer(0) })))
        .executeTest(async (mock) => {
          const created = unwrap(await clientFor(mock.url).POST('/api/v1/license-users/', { body }));
          expect(created).toMatchObject({ email: EMAIL, initial_password: 'pass123', is_initial_password: true });
        });
    });

    it('createV1LicenseUser: 409 license_user_email_taken', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('createV1LicenseUser: an email the account already has')
        .withRequest('POST', '/api/v1/license-users/', (req) => req.headers(managementAuthHeaders()).jsonBody({ email: EMAIL }))
        .willRespondWith(409, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(409, 'license_user_email_taken')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v1/license-users/', { body: { email: EMAIL } })));
          expect(err).toMatchObject({ status: 409, code: 'license_user_email_taken' });
        });
    });

    it('listV1LicenseUsers: the user with an email', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('listV1LicenseUsers: by true_email__iexact')
        .withRequest('GET', '/api/v1/license-users/', (req) => req.headers(managementAuthHeaders()).query({ true_email__iexact: EMAIL }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ count: integer(1), next: null, previous: null, results: eachLike(v1LicenseUser()) }))
        .executeTest(async (mock) => {
          const page = unwrap(await clientFor(mock.url).GET('/api/v1/license-users/', { params: { query: { true_email__iexact: EMAIL } } }));
          expect(page.results[0]).toMatchObject({ email: EMAIL, total_licenses: 1 });
        });
    });

    it('listV1LicenseUsers: 401 invalid_api_key for an unknown key', async () => {
      await pact
        .addInteraction()
        .given(account.name, account.params)
        .uponReceiving('listV1LicenseUsers: an unknown management key')
        .withRequest('GET', '/api/v1/license-users/', (req) => req.headers(wrongKey))
        .willRespondWith(401, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(401, 'invalid_api_key')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/license-users/', { headers: wrongKey })));
          expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
        });
    });

    it('getV1LicenseUser: the user', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('getV1LicenseUser: an existing user')
        .withRequest('GET', userPath(), (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v1LicenseUser()))
        .executeTest(async (mock) => {
          const user = unwrap(await clientFor(mock.url).GET('/api/v1/license-users/{id}/', byUser));
          expect(user).toMatchObject({ email: EMAIL, initial_password: null });
        });
    });

    it('getV1LicenseUser: 404 not_found', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('getV1LicenseUser: an unknown user id')
        .withRequest('GET', `/api/v1/license-users/${UNKNOWN_ID}/`, (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/api/v1/license-users/{id}/', unknown)));
          expect(err).toMatchObject({ status: 404, code: 'not_found' });
        });
    });

    it('updateV1LicenseUser: a new first name', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('updateV1LicenseUser: first_name')
        .withRequest('PATCH', userPath(), (req) => req.headers(managementAuthHeaders()).jsonBody({ first_name: 'Harry' }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(v1LicenseUser({ first_name: like('Harry') })))
        .executeTest(async (mock) => {
          const user = unwrap(await clientFor(mock.url).PATCH('/api/v1/license-users/{id}/', { ...byUser, body: { first_name: 'Harry' } }));
          expect(user.first_name).toBe('Harry');
        });
    });

    it('updateV1LicenseUser: 404 not_found', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('updateV1LicenseUser: an unknown user id')
        .withRequest('PATCH', `/api/v1/license-users/${UNKNOWN_ID}/`, (req) => req.headers(managementAuthHeaders()).jsonBody({ first_name: 'Harry' }))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).PATCH('/api/v1/license-users/{id}/', { ...unknown, body: { first_name: 'Harry' } })));
          expect(err).toMatchObject({ status: 404, code: 'not_found' });
        });
    });

    it('deleteV1LicenseUser: 204', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('deleteV1LicenseUser: an existing user')
        .withRequest('DELETE', userPath(), (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(204)
        .executeTest(async (mock) => {
          const { response } = await clientFor(mock.url).DELETE('/api/v1/license-users/{id}/', byUser);
          expect(response.status).toBe(204);
        });
    });

    it('deleteV1LicenseUser: 404 not_found', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('deleteV1LicenseUser: an unknown user id')
        .withRequest('DELETE', `/api/v1/license-users/${UNKNOWN_ID}/`, (req) => req.headers(managementAuthHeaders()))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).DELETE('/api/v1/license-users/{id}/', unknown)));
          expect(err).toMatchObject({ status: 404, code: 'not_found' });
        });
    });

    it('setV1LicenseUserPassword: Password set.', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('setV1LicenseUserPassword: a new password')
        .withRequest('POST', userPath('set_password/'), (req) => req.headers(managementAuthHeaders()).jsonBody({ password: 'pass123' }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ message: like('Password set.') }))
        .executeTest(async (mock) => {
          const answer = unwrap(await clientFor(mock.url).POST('/api/v1/license-users/{id}/set_password/', { ...byUser, body: { password: 'pass123' } }));
          expect(answer.message).toBe('Password set.');
        });
    });

    it('setV1LicenseUserPassword: 404 not_found', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('setV1LicenseUserPassword: an unknown user id')
        .withRequest('POST', `/api/v1/license-users/${UNKNOWN_ID}/set_password/`, (req) => req.headers(managementAuthHeaders()).jsonBody({ password: 'pass123' }))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v1/license-users/{id}/set_password/', { ...unknown, body: { password: 'pass123' } })));
          expect(err).toMatchObject({ status: 404, code: 'not_found' });
        });
    });
  });

  describe('assignment', () => {
    const newUser = { email: 'joe@example.com', password: 'pw-joe' };

    it('assignV1LicenseUser: License assigned., with the password it set', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('assignV1LicenseUser: a new user with a password')
        .withRequest('POST', licensePath('assign_user'), (req) => req.headers(managementAuthHeaders()).jsonBody(newUser))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ message: 'License assigned.', new_password: like('pw-joe') }))
        .executeTest(async (mock) => {
          const answer = unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/assign_user/', { ...byLicense, body: newUser }));
          expect(answer).toEqual({ message: 'License assigned.', new_password: 'pw-joe' });
        });
    });

    it('assignV1LicenseUser: 400 max_license_users_reached', async () => {
      await pact
        .addInteraction()
        .given(full.name, full.params)
        .uponReceiving('assignV1LicenseUser: a license that has its maximum of users')
        .withRequest('POST', licensePath('assign_user'), (req) => req.headers(managementAuthHeaders()).jsonBody(newUser))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'max_license_users_reached')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/assign_user/', { ...byLicense, body: newUser })));
          expect(err).toMatchObject({ status: 400, code: 'max_license_users_reached' });
        });
    });

    it('assignV1LicenseUser: 404 license_not_found', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('assignV1LicenseUser: an unknown license id')
        .withRequest('POST', `/api/v1/licenses/${UNKNOWN_ID}/assign_user/`, (req) => req.headers(managementAuthHeaders()).jsonBody(newUser))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'license_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/assign_user/', { ...unknown, body: newUser })));
          expect(err).toMatchObject({ status: 404, code: 'license_not_found' });
        });
    });

    it('unassignV1LicenseUser: License unassigned.', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('unassignV1LicenseUser: an assigned user by id')
        .withRequest('POST', licensePath('unassign_user'), (req) => req.headers(managementAuthHeaders()).jsonBody({ license_user_id: fromState('${userId}', USER_ID) }))
        .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ message: like('License unassigned.') }))
        .executeTest(async (mock) => {
          const answer = unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/unassign_user/', { ...byLicense, body: { license_user_id: USER_ID } }));
          expect(answer.message).toBe('License unassigned.');
        });
    });

    it('unassignV1LicenseUser: 404 not_found for a user not on the license', async () => {
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('unassignV1LicenseUser: a user not assigned to the license')
        .withRequest('POST', licensePath('unassign_user'), (req) => req.headers(managementAuthHeaders()).jsonBody({ license_user_email: 'nobody@example.com' }))
        .willRespondWith(404, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(404, 'not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () =>
            unwrap(await clientFor(mock.url).POST('/api/v1/licenses/{id}/unassign_user/', { ...byLicense, body: { license_user_email: 'nobody@example.com' } })),
          );
          expect(err).toMatchObject({ status: 404, code: 'not_found' });
        });
    });
  });

  describe('changePassword (License API)', () => {
    it('password changed', async () => {
      const body = { username: EMAIL, password: PASSWORD, new_password: 'my own secret' };
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('changePassword: the current password and a new one')
        .withRequest('POST', '/api/v4/change_password', (req) => req.headers(licenseApiAuthHeaders()).jsonBody(body))
        // The body is the JSON string "password changed"; jsonBody() would store a bare string as raw text.
        .willRespondWith(200, (res) => res.headers(signedJsonResponseHeaders()).body('application/json', Buffer.from(JSON.stringify('password changed'))))
        .executeTest(async (mock) => {
          const data = unwrap(await clientFor(mock.url).POST('/api/v4/change_password', { params: { header: dateHeader() }, body }));
          expect(data).toBe('password changed');
        });
    });

    it('400 license_not_found for a wrong password', async () => {
      const body = { username: EMAIL, password: 'wrong horse', new_password: 'my own secret' };
      await pact
        .addInteraction()
        .given(seeded.name, seeded.params)
        .uponReceiving('changePassword: a wrong current password')
        .withRequest('POST', '/api/v4/change_password', (req) => req.headers(licenseApiAuthHeaders()).jsonBody(body))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(licenseApiError(400, 'license_not_found')))
        .executeTest(async (mock) => {
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).POST('/api/v4/change_password', { params: { header: dateHeader() }, body })));
          expect(err).toMatchObject({ status: 400, code: 'license_not_found' });
        });
    });
  });
});
