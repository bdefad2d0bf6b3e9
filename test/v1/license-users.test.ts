import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { clientFor } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * User-based licenses end to end: the Management API creates license users, assigns them to
 * user-based licenses (within `max_license_users`), changes and removes them; the License API logs
 * them in with username + password and lets them change their password.
 */
describe('Management API v1 license users, and their License API logins', () => {
  let t: TestServer;
  let v4: V4Client;
  let keyA: string;
  let keyB: string;
  const MISSING_ID = 1234567890123456;

  beforeAll(async () => {
    t = await startTestServer();
    v4 = await clientFor(t);
    keyA = t.credentials.managementApiKey;
    keyB = (await t.createAccount('tenant-b')).credentials.managementApiKey;
  });
  afterAll(async () => t?.stop());

  async function api(method: string, path: string, body?: unknown, key: string = keyA): Promise<{ status: number; body: Json }> {
    const headers: Record<string, string> = { authorization: `Api-Key ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  function expectError(res: { status: number; body: Json }, status: number, code: string) {
    expect(res.body).toMatchObject({ status, code });
    expect(typeof res.body.message).toBe('string');
    expect(res.status).toBe(status);
  }

  let seq = 0;
  const unique = (name: string) => `${name}-${++seq}-${Date.now()}@example.com`;

  async function userBasedLicense(extra: object = {}, key = keyA) {
    seq += 1;
    const product = (await api('POST', '/api/v1/products/', { product_name: `Users ${seq}`, short_code: `users${seq}` }, key)).body;
    const res = await api('POST', '/api/v1/licenses/', { product: product.id, license_type: 'perpetual', max_activations: 3, user_based: true, ...extra }, key);
    expect(res.status).toBe(201);
    return { product: product as { id: number; short_code: string }, license: res.body as Json };
  }

  const activate = (product: string, username: string, password: string, hardwareId = 'hw-user') =>
    v4.post('activate_license', { product, username, password, hardware_id: hardwareId });

  it('creates a user with a generated password shown once, reads, lists and filters it', async () => {
    const email = unique('Jane');
    const created = await api('POST', '/api/v1/license-users/', { email, first_name: 'Jane', metadata: { team: 'design' } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      id: expect.any(Number),
      last_login: null,
      email,
      true_email: email,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      is_active: true,
      is_manager: false,
      initial_password: expect.stringMatching(/^[A-Za-z2-9]{16}$/),
      is_initial_password: true,
      first_name: 'Jane',
      last_name: '',
      phone_number: '',
      total_licenses: 0,
      customer_accounts: [],
      metadata: { team: 'design' },
    });
    const read = await api('GET', `/api/v1/license-users/${created.body.id}/`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...created.body, initial_password: null });

    const filtered = await api('GET', `/api/v1/license-users/?true_email__iexact=${encodeURIComponent(email.toUpperCase())}`);
    expect(filtered.status).toBe(200);
    expect(filtered.body).toMatchObject({ count: 1, next: null, previous: null, results: [{ id: created.body.id, initial_password: null }] });
    const all = await api('GET', '/api/v1/license-users/?page_size=100');
    expect(all.body.results.map((u: Json) => u.id)).toContain(created.body.id);

    // The password is stored only as a hash.
    const stored = await t.server.db.models.LicenseUser.findOne({ _id: created.body.id }).lean<Json>();
    expect(stored.passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(stored)).not.toContain(created.body.initial_password);
  });

  it('refuses an email the account already has (ignoring case) with 409 license_user_email_taken, and a bad email with 400', async () => {
    const email = unique('dup');
    expect((await api('POST', '/api/v1/license-users/', { email, password: 'pw-1' })).status).toBe(200);
    expectError(await api('POST', '/api/v1/license-users/', { email: email.toUpperCase() }), 409, 'license_user_email_taken');
    expectError(await api('POST', '/api/v1/license-users/', { email: 'not-an-email' }), 400, 'validation_failed');
    expectError(await api('POST', '/api/v1/license-users/', {}), 400, 'validation_failed');
    // Another account may have a user with the same email.
    expect((await api('POST', '/api/v1/license-users/', { email }, keyB)).status).toBe(200);
  });

  it('user_based makes a keyless license; with a license_key it is refused; a null license_key is a generated key', async () => {
    const { license } = await userBasedLicense();
    expect(license).toMatchObject({ license_key: null });
    const product = (await api('POST', '/api/v1/products/', { product_name: 'Keys', short_code: `keys${Date.now()}` })).body as { id: number };
    const both = await api('POST', '/api/v1/licenses/', { product: product.id, license_type: 'perpetual', max_activations: 1, user_based: true, license_key: 'ABCD-1234' });
    expect(both).toMatchObject({ status: 400, body: { status: 400, code: 'validation_failed' } });
    expect(both.body.message).toContain('license_key');
    expect((await api('GET', `/api/v1/licenses/?product=${product.id}`)).body.count).toBe(0);
    // What a generated client sends for an unset optional field: null, meaning "left out".
    const generated = await api('POST', '/api/v1/licenses/', { product: product.id, license_type: 'perpetual', max_activations: 1, license_key: null, validity_period: '2030-12-31T00:00:00' });
    expect(generated.status).toBe(201);
    expect(generated.body.license_key).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);
    expect(generated.body.validity_period).toBe('2030-12-31');
  });

  it('assigns users to a user-based license, which they log in to with username + password', async () => {
    const { product, license } = await userBasedLicense();
    expect(license).toMatchObject({ license_key: null, license_users: [], max_license_users: 0 });
    const email = unique('login');

    const assigned = await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email, first_name: 'Lo', password: 'correct horse' });
    expect(assigned).toEqual({ status: 200, body: { message: 'License assigned.', new_password: 'correct horse' } });
    const shown = (await api('GET', `/api/v1/licenses/${license.id}/`)).body;
    expect(shown.license_users).toHaveLength(1);
    expect(shown.license_users[0]).toMatchObject({ email, first_name: 'Lo', is_active: true });

    const wrong = await activate(product.short_code, email, 'wrong horse');
    expect(wrong.body).toMatchObject({ status: 400, code: 'license_not_found' });
    const ok = await activate(product.short_code, email, 'correct horse');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: license.id, license_key: null, username: email, product_details: { authorization_method: 'user' } });

    const user = (await api('GET', `/api/v1/license-users/?true_email__iexact=${encodeURIComponent(email)}`)).body.results[0];
    expect(user).toMatchObject({ total_licenses: 1, is_initial_password: true, last_login: expect.any(String) });

    // Assigning again changes nothing; without a password the user keeps its own.
    expect(await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email })).toEqual({ status: 200, body: { message: 'License assigned.', new_password: null } });
    expect((await api('GET', `/api/v1/licenses/${license.id}/`)).body.license_users).toHaveLength(1);
    expect((await activate(product.short_code, email, 'correct horse', 'hw-2')).status).toBe(200);
  });

  it('logs in with the email in any case, as the email is unique ignoring case', async () => {
    const { product, license } = await userBasedLicense();
    const email = unique('MixedCase').replace('MixedCase', 'Jane.Doe');
    expect((await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email, password: 'correct horse' })).status).toBe(200);
    const lower = email.toLowerCase();
    expect(lower).not.toBe(email);
    const ok = await activate(product.short_code, lower, 'correct horse', 'hw-case');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: license.id, user: { email } });
    const checked = await v4.get('check_license', { product: product.short_code, username: email.toUpperCase(), hardware_id: 'hw-case' });
    expect(checked.status).toBe(200);
    expect(checked.body).toMatchObject({ id: license.id, user: { email } });
    expect((await activate(product.short_code, lower, 'wrong horse', 'hw-case-2')).body).toMatchObject({ status: 400, code: 'license_not_found' });
  });

  it('generates the password of a user that assign_user creates without one', async () => {
    const { product, license } = await userBasedLicense();
    const email = unique('gen');
    const assigned = await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email });
    expect(assigned.status).toBe(200);
    expect(assigned.body.new_password).toMatch(/^[A-Za-z2-9]{16}$/);
    expect((await activate(product.short_code, email, assigned.body.new_password)).status).toBe(200);
  });

  it('refuses to assign beyond max_license_users (400 max_license_users_reached) and to a key-based license', async () => {
    const { license } = await userBasedLicense({ max_license_users: 1 });
    expect(license.max_license_users).toBe(1);
    expect((await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email: unique('one') })).status).toBe(200);
    expectError(await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email: unique('two') }), 400, 'max_license_users_reached');
    // Raising the limit lets the next one in.
    expect((await api('PATCH', `/api/v1/licenses/${license.id}/`, { max_license_users: 2 })).body.max_license_users).toBe(2);
    expect((await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email: unique('two') })).status).toBe(200);

    seq += 1;
    const product = (await api('POST', '/api/v1/products/', { product_name: `Keyed ${seq}`, short_code: `keyed${seq}` })).body;
    const keyed = (await api('POST', '/api/v1/licenses/', { product: product.id, license_type: 'perpetual', max_activations: 1 })).body;
    expect(keyed.license_key).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);
    expectError(await api('POST', `/api/v1/licenses/${keyed.id}/assign_user/`, { email: unique('keyed') }), 400, 'validation_failed');
    expectError(await api('POST', `/api/v1/licenses/${MISSING_ID}/assign_user/`, { email: unique('missing') }), 404, 'license_not_found');
  });

  it('assigns concurrently within max_license_users: exactly the limit gets in', async () => {
    const { license } = await userBasedLicense({ max_license_users: 3 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email: unique(`race${i}`), password: 'pw' })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    for (const r of results.filter((x) => x.status !== 200)) expect(r.body.code).toBe('max_license_users_reached');
    expect((await api('GET', `/api/v1/licenses/${license.id}/`)).body.license_users).toHaveLength(3);
  });

  it('unassigns by id or email: the user can no longer log in to that license, and stays', async () => {
    const { product, license } = await userBasedLicense();
    const [a, b] = [unique('ua'), unique('ub')];
    for (const email of [a, b]) await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email, password: 'pw-pw' });
    const userA = (await api('GET', `/api/v1/license-users/?true_email__iexact=${encodeURIComponent(a)}`)).body.results[0];

    expect(await api('POST', `/api/v1/licenses/${license.id}/unassign_user/`, { license_user_id: userA.id })).toEqual({ status: 200, body: { message: 'License unassigned.' } });
    expect(await api('POST', `/api/v1/licenses/${license.id}/unassign_user/`, { license_user_email: b.toUpperCase() })).toEqual({ status: 200, body: { message: 'License unassigned.' } });
    expect((await api('GET', `/api/v1/licenses/${license.id}/`)).body.license_users).toEqual([]);
    expect((await activate(product.short_code, a, 'pw-pw')).body).toMatchObject({ status: 400, code: 'license_not_found' });
    expect((await api('GET', `/api/v1/license-users/${userA.id}/`)).body.total_licenses).toBe(0);

    expectError(await api('POST', `/api/v1/licenses/${license.id}/unassign_user/`, { license_user_id: userA.id }), 404, 'not_found');
    expectError(await api('POST', `/api/v1/licenses/${MISSING_ID}/unassign_user/`, { license_user_id: userA.id }), 404, 'license_not_found');
    expect(await api('POST', `/api/v1/licenses/${license.id}/unassign_user/`, {})).toMatchObject({ status: 400, body: { code: 'validation_failed', message: 'license_user_id or license_user_email is required' } });
    const both = await api('POST', `/api/v1/licenses/${license.id}/unassign_user/`, { license_user_id: userA.id, license_user_email: a });
    expect(both).toMatchObject({ status: 400, body: { code: 'validation_failed', message: 'Send either license_user_id or license_user_email, not both' } });
  });

  it('updates the profile (licenses show it; a new email is the new username) and deactivates logins', async () => {
    const { product, license } = await userBasedLicense();
    const email = unique('old');
    await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email, password: 'pw-up' });
    const user = (await api('GET', `/api/v1/license-users/?true_email__iexact=${encodeURIComponent(email)}`)).body.results[0];

    const renamed = unique('new');
    const updated = await api('PATCH', `/api/v1/license-users/${user.id}/`, { email: renamed, first_name: 'Harry', phone_number: '123' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: user.id, email: renamed, true_email: renamed, first_name: 'Harry', phone_number: '123', initial_password: null, total_licenses: 1 });
    expect((await api('GET', `/api/v1/licenses/${license.id}/`)).body.license_users[0]).toMatchObject({ id: user.id, email: renamed, first_name: 'Harry' });
    expect((await activate(product.short_code, email, 'pw-up')).body.code).toBe('license_not_found');
    expect((await activate(product.short_code, renamed, 'pw-up')).status).toBe(200);

    expect((await api('PATCH', `/api/v1/license-users/${user.id}/`, { is_active: false })).body.is_active).toBe(false);
    expect((await activate(product.short_code, renamed, 'pw-up', 'hw-3')).body).toMatchObject({ status: 400, code: 'license_not_found' });

    const other = (await api('POST', '/api/v1/license-users/', { email: unique('other') })).body;
    expectError(await api('PATCH', `/api/v1/license-users/${user.id}/`, { email: other.email }), 409, 'license_user_email_taken');
    expectError(await api('PATCH', `/api/v1/license-users/${user.id}/`, {}), 400, 'validation_failed');
  });

  it('set_password (vendor) and change_password (the user, License API)', async () => {
    const { product, license } = await userBasedLicense();
    const email = unique('pw');
    await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email, password: 'first-pw' });
    const user = (await api('GET', `/api/v1/license-users/?true_email__iexact=${encodeURIComponent(email)}`)).body.results[0];

    expect(await api('POST', `/api/v1/license-users/${user.id}/set_password/`, { password: 'pass123' })).toEqual({ status: 200, body: { message: 'Password set.' } });
    expect((await activate(product.short_code, email, 'first-pw')).body.code).toBe('license_not_found');
    expect((await activate(product.short_code, email, 'pass123')).status).toBe(200);
    expectError(await api('POST', `/api/v1/license-users/${MISSING_ID}/set_password/`, { password: 'x' }), 404, 'not_found');
    expectError(await api('POST', `/api/v1/license-users/${user.id}/set_password/`, { password: '' }), 400, 'validation_failed');

    const changed = await v4.post('change_password', { username: email, password: 'pass123', new_password: 'my own secret' });
    expect(changed.status).toBe(200);
    expect(changed.body).toBe('password changed');
    expect((await api('GET', `/api/v1/license-users/${user.id}/`)).body.is_initial_password).toBe(false);
    expect((await activate(product.short_code, email, 'pass123', 'hw-4')).body.code).toBe('license_not_found');
    expect((await activate(product.short_code, email, 'my own secret', 'hw-4')).status).toBe(200);

    const refused = await v4.post('change_password', { username: email, password: 'pass123', new_password: 'x' });
    expect(refused.body).toMatchObject({ status: 400, code: 'license_not_found' });
    expect(refused.status).toBe(400);
    expect((await v4.post('change_password', { username: 'nobody@example.com', password: 'x', new_password: 'y' })).body).toMatchObject({ status: 400, code: 'license_not_found' });
    expect((await v4.post('change_password', { username: email, password: 'my own secret' })).status).toBe(400);
  });

  it('deletes a user: gone from its licenses, 404 afterwards', async () => {
    const { product, license } = await userBasedLicense();
    const email = unique('del');
    await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email, password: 'pw-del' });
    const user = (await api('GET', `/api/v1/license-users/?true_email__iexact=${encodeURIComponent(email)}`)).body.results[0];
    const deleted = await api('DELETE', `/api/v1/license-users/${user.id}/`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await api('GET', `/api/v1/licenses/${license.id}/`)).body.license_users).toEqual([]);
    expectError(await api('GET', `/api/v1/license-users/${user.id}/`), 404, 'not_found');
    expectError(await api('DELETE', `/api/v1/license-users/${user.id}/`), 404, 'not_found');
    expect((await activate(product.short_code, email, 'pw-del')).body.code).toBe('license_not_found');
    // The email is free again.
    expect((await api('POST', '/api/v1/license-users/', { email })).status).toBe(200);
  });

  it("answers 404 for another account's users and licenses, and lists only the account's own", async () => {
    const { license } = await userBasedLicense();
    const email = unique('tenant');
    const user = (await api('POST', '/api/v1/license-users/', { email, password: 'pw-t' })).body;
    expectError(await api('GET', `/api/v1/license-users/${user.id}/`, undefined, keyB), 404, 'not_found');
    expectError(await api('PATCH', `/api/v1/license-users/${user.id}/`, { first_name: 'Mallory' }, keyB), 404, 'not_found');
    expectError(await api('POST', `/api/v1/license-users/${user.id}/set_password/`, { password: 'owned' }, keyB), 404, 'not_found');
    expectError(await api('DELETE', `/api/v1/license-users/${user.id}/`, undefined, keyB), 404, 'not_found');
    expectError(await api('POST', `/api/v1/licenses/${license.id}/assign_user/`, { email: unique('intruder') }, keyB), 404, 'license_not_found');
    expectError(await api('POST', `/api/v1/licenses/${license.id}/unassign_user/`, { license_user_id: user.id }, keyB), 404, 'license_not_found');
    const listB = await api('GET', `/api/v1/license-users/?true_email__iexact=${encodeURIComponent(email)}`, undefined, keyB);
    expect(listB.body).toMatchObject({ count: 0, results: [] });
    expect((await api('GET', `/api/v1/license-users/${user.id}/`)).body).toMatchObject({ first_name: '', is_initial_password: true });
  });
});
