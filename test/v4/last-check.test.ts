import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicensesRepository } from '../../server/db/licenses-repository.js';
import { ManualClock } from '../support/clock.js';
import type { TestServer } from '../support/server.js';
import { licenseFor, startLicenseApiServer } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

/**
 * check_license records when the license was last checked: the Management API's `last_check`, kept
 * to the minute (a check within a minute of the recorded one writes nothing). Failed checks are not
 * recorded.
 */
describe('check_license and last_check', () => {
  const clock = new ManualClock(new Date('2026-05-04T09:00:00Z'));
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock }));
  });
  afterAll(async () => t?.stop());

  const lastCheck = async (licenseId: number) => {
    const res = await fetch(`${t.baseUrl}/api/v1/licenses/${licenseId}/`, { headers: { authorization: `Api-Key ${t.credentials.managementApiKey}` } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { last_check: string | null }).last_check;
  };

  it('is null until the first successful check, then the check time to the minute', async () => {
    clock.set('2026-05-04T09:00:00Z');
    const { license, ids } = await licenseFor(t);
    expect(await lastCheck(license.id)).toBeNull();

    // A failed check (unknown device) is not a check of this license.
    expect((await client.get('check_license', { ...ids, hardware_id: 'not-activated' })).status).toBe(400);
    expect(await lastCheck(license.id)).toBeNull();

    expect((await client.get('check_license', ids)).status).toBe(200);
    expect(await lastCheck(license.id)).toBe('2026-05-04T09:00:00.000Z');

    clock.set('2026-05-04T09:00:59Z');
    expect((await client.get('check_license', ids)).status).toBe(200);
    expect(await lastCheck(license.id)).toBe('2026-05-04T09:00:00.000Z');

    clock.set('2026-05-04T09:01:00Z');
    expect((await client.get('check_license', ids)).status).toBe(200);
    expect(await lastCheck(license.id)).toBe('2026-05-04T09:01:00.000Z');
  });

  it('never moves back when checks land out of order', async () => {
    clock.set('2026-05-04T10:00:00Z');
    const { license } = await licenseFor(t);
    const repo = new LicensesRepository(t.server.db.models);
    await repo.markChecked(license.id, new Date('2026-05-04T10:05:00Z'));
    await repo.markChecked(license.id, new Date('2026-05-04T10:02:00Z'));
    expect(await lastCheck(license.id)).toBe('2026-05-04T10:05:00.000Z');
  });
});
