/**
 * `license_users[]` of the Management API license object carries the 17 keys of the vendor's example
 * (seed 003), with the values V1LicenseUser documents. Responses are validated against the spec by the
 * test server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProduct } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The keys of a license user in the seed's example (spaces there stand for underscores). */
const SEED_LICENSE_USER_KEYS = [
  'id', 'last_login', 'email', 'true_email', 'created_at', 'updated_at', 'is_admin', 'is_active', 'is_staff', 'first_name',
  'last_name', 'phone_number', 'subscribed_to_email', 'acquired_consent', 'is_manager', 'initial_password', 'is_initial_password',
];

describe('Management API v1 license users', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.stop());

  it('the license object lists each license user with exactly the seed\'s 17 keys, never a password', async () => {
    const product = await buildProduct(t.services, t.account.id);
    const license = await t.services.licenses.createLicense(t.account.id, {
      productId: product.id,
      type: 'perpetual',
      maxActivations: 2,
      key: null,
    });
    const { user: created } = await t.services.licenseUsers.assignUser(t.account.id, license.id, { email: 'jane@example.com', password: 'correct horse', firstName: 'Jane', lastName: 'Doe' });
    const res = await fetch(`${t.baseUrl}/api/v1/licenses/${license.id}/`, { headers: { authorization: `Api-Key ${t.credentials.managementApiKey}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { license_users: Array<Record<string, unknown>> };
    expect(body.license_users).toHaveLength(1);
    const [user] = body.license_users;
    expect(Object.keys(user!).sort()).toEqual([...SEED_LICENSE_USER_KEYS].sort());
    expect(user).toEqual({
      id: created.id,
      email: 'jane@example.com',
      true_email: 'jane@example.com',
      first_name: 'Jane',
      last_name: 'Doe',
      phone_number: '',
      is_active: true,
      is_manager: false,
      is_admin: false,
      is_staff: false,
      subscribed_to_email: false,
      acquired_consent: null,
      initial_password: null,
      is_initial_password: true,
      last_login: null,
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      updated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(JSON.stringify(body)).not.toContain('correct horse');
  });
});
