import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewLicenseInput } from '../../server/domain/licenses.js';
import { ManualClock } from '../support/clock.js';
import type { TestServer } from '../support/server.js';
import { expectError, licenseFor, startLicenseApiServer } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

const MINUTE = 60_000;

/**
 * License API v4 floating cloud licenses over HTTP (responses validated against the spec by the test
 * server): activate/check take or renew a slot for `floating_timeout` minutes, `floating_not_available`
 * when every slot is live, `floating/release` and `floating/borrow` with their errors, and the
 * Management API's view of live use. The server's clock (and the Date headers) are moved by hand.
 */
describe('License API v4: floating cloud licenses', () => {
  const clock = new ManualClock(new Date('2026-08-03T09:00:00Z'));
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock }));
  });
  afterAll(async () => t?.stop());

  const floating = (input: Partial<NewLicenseInput> = {}) => licenseFor(t, { type: 'perpetual', maxActivations: 1, isFloatingCloud: true, floatingUsers: 2, floatingTimeout: 10, ...input }, []);
  const v1 = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${t.baseUrl}/api/v1/${path}`, { ...init, headers: { authorization: `Api-Key ${t.credentials.managementApiKey}`, 'content-type': 'application/json', ...init.headers } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { results?: Array<Record<string, unknown>> } };
  };

  it('activate and check take or renew a slot up to floating_users; the next device gets floating_not_available until one is released or times out', async () => {
    clock.set('2026-08-03T09:00:00Z');
    const { ids, license } = await floating();
    const a = await client.post('activate_license', { ...ids, hardware_id: 'hw-a' });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ is_floating_cloud: true, floating_users: 2, floating_timeout: 10, floating_in_use_devices: 1, is_borrowed: false, borrowed_until: null, can_borrow: false, max_borrow_time: 0 });
    expect((await client.post('activate_license', { ...ids, hardware_id: 'hw-b' })).body).toMatchObject({ floating_in_use_devices: 2 });
    expectError(await client.post('activate_license', { ...ids, hardware_id: 'hw-c' }), 'floating_not_available');
    expectError(await client.get('check_license', { ...ids, hardware_id: 'hw-c' }), 'floating_not_available');

    const release = await client.post('floating/release', { ...ids, hardware_id: 'hw-b' });
    expect(release.status).toBe(200);
    expect(release.text).toBe('""');
    expectError(await client.post('floating/release', { ...ids, hardware_id: 'hw-b' }), 'device_not_found');
    // A check from a device without a slot takes the free one.
    expect((await client.get('check_license', { ...ids, hardware_id: 'hw-c' })).body).toMatchObject({ floating_in_use_devices: 2 });

    // a keeps checking in; c does not: after the timeout c's slot goes to b.
    clock.advance(6 * MINUTE);
    expect((await client.get('check_license', { ...ids, hardware_id: 'hw-a' })).status).toBe(200);
    clock.advance(5 * MINUTE);
    expect((await client.get('check_license', { ...ids, hardware_id: 'hw-b' })).body).toMatchObject({ floating_in_use_devices: 2 });
    expectError(await client.get('check_license', { ...ids, hardware_id: 'hw-c' }), 'floating_not_available');

    const managed = await v1(`licenses/${license.id}/`);
    expect(managed.body).toMatchObject({ floating_in_use_devices: 2, times_activated: 2 });
    const devices = (await v1(`devices/?license=${license.id}`)).body.results!;
    const byHw = Object.fromEntries(devices.map((d) => [d.hardware_id, d]));
    expect(byHw['hw-a']).toMatchObject({ active: true, floating_in_use: true, lease_expires_at: '2026-08-03T09:16:00.000Z', borrowed_until: null });
    expect(byHw['hw-b']).toMatchObject({ active: true, floating_in_use: true, lease_expires_at: '2026-08-03T09:21:00.000Z' });
    expect(byHw['hw-c']).toMatchObject({ active: false, floating_in_use: false });
  });

  it('50 devices race over HTTP for 10 slots: exactly 10 get 200, 40 floating_not_available; after the timeout 50 others, exactly 10 again', async () => {
    clock.set('2026-08-03T10:00:00Z');
    const { ids, license } = await floating({ maxActivations: 10, floatingUsers: 10, floatingTimeout: 10 });
    const race = async (prefix: string) => {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => client.post('activate_license', { ...ids, hardware_id: `${prefix}-${i}` })));
      return {
        ok: answers.filter((a) => a.status === 200).length,
        refused: answers.filter((a) => a.status === 400 && (a.body as { code?: string }).code === 'floating_not_available').length,
      };
    };
    expect(await race('first')).toEqual({ ok: 10, refused: 40 });
    expect((await v1(`licenses/${license.id}/`)).body).toMatchObject({ floating_in_use_devices: 10 });
    clock.advance(10 * MINUTE);
    expect(await race('second')).toEqual({ ok: 10, refused: 40 });
    const live = (await v1(`devices/?license=${license.id}&page_size=100`)).body.results!.filter((d) => d.floating_in_use === true);
    expect(live).toHaveLength(10);
    expect(live.every((d) => String(d.hardware_id).startsWith('second-'))).toBe(true);
    expect((await v1(`licenses/${license.id}/`)).body).toMatchObject({ floating_in_use_devices: 10 });
  });

  it('borrow: license_borrow_not_allowed, borrow_until_not_valid, then a borrowed slot that outlives the timeout until it is released', async () => {
    clock.set('2026-08-03T12:00:00Z');
    const closed = await floating();
    expect((await client.post('activate_license', { ...closed.ids, hardware_id: 'hw-a' })).status).toBe(200);
    expectError(await client.post('floating/borrow', { ...closed.ids, hardware_id: 'hw-a', borrowed_until: null }), 'license_borrow_not_allowed');

    const { ids, license } = await floating({ floatingUsers: 1, canBorrow: true, maxBorrowTime: 48 });
    expect((await client.post('activate_license', { ...ids, hardware_id: 'hw-a' })).status).toBe(200);
    for (const until of ['2026-08-05T12:00:01Z', '2026-08-03T11:59:59Z']) {
      expectError(await client.post('floating/borrow', { ...ids, hardware_id: 'hw-a', borrowed_until: until }), 'borrow_until_not_valid');
    }
    expectError(await client.post('floating/borrow', { ...ids, hardware_id: 'hw-a', borrowed_until: 'tomorrow' }), 'validation_error');
    expectError(await client.post('floating/borrow', { ...ids, hardware_id: 'hw-a', borrowed_until: '2026-13-01' }), 'validation_error');
    // The vendor's other timestamp forms: no offset is UTC, a date alone its midnight.
    expect((await client.post('floating/borrow', { ...ids, hardware_id: 'hw-a', borrowed_until: '2026-08-04 06:30' })).body).toMatchObject({ borrowed_until: '2026-08-04T06:30:00.000Z' });
    expect((await client.post('floating/borrow', { ...ids, hardware_id: 'hw-a', borrowed_until: '2026-08-04' })).body).toMatchObject({ borrowed_until: '2026-08-04T00:00:00.000Z' });
    const borrowed = await client.post('floating/borrow', { ...ids, hardware_id: 'hw-a', borrowed_until: '2026-08-04T12:00:00Z' });
    expect(borrowed.status).toBe(200);
    expect(borrowed.body).toEqual({ license_id: license.id, device_id: expect.any(Number), borrowed_until: '2026-08-04T12:00:00.000Z', max_borrow_time: 48 });

    clock.set('2026-08-03T18:00:00Z');
    expectError(await client.post('activate_license', { ...ids, hardware_id: 'hw-b' }), 'floating_not_available');
    expect((await client.get('check_license', { ...ids, hardware_id: 'hw-a' })).body).toMatchObject({ is_borrowed: true, borrowed_until: '2026-08-04T12:00:00.000Z', can_borrow: true, max_borrow_time: 48 });
    expect((await client.post('floating/release', { ...ids, hardware_id: 'hw-a' })).text).toBe('""');
    expect((await client.post('activate_license', { ...ids, hardware_id: 'hw-b' })).body).toMatchObject({ floating_in_use_devices: 1, is_borrowed: false });
  });

  it('release refuses a license that is not floating cloud; the Management API sets the borrow policy', async () => {
    clock.set('2026-08-03T13:00:00Z');
    const { ids, license } = await licenseFor(t, { type: 'perpetual', maxActivations: 2 }, ['hw-1']);
    expectError(await client.post('floating/release', ids), 'license_not_floating');
    expectError(await client.post('floating/borrow', { ...ids, borrowed_until: null }), 'license_borrow_not_allowed');
    const updated = await v1(`licenses/${license.id}/`, { method: 'PATCH', body: JSON.stringify({ is_floating_cloud: true, floating_users: 3, floating_timeout: 5, can_borrow: true, max_borrow_time: 12 }) });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ is_floating_cloud: true, floating_users: 3, floating_timeout: 5, can_borrow: true, max_borrow_time: 12 });
    expect((await v1(`licenses/${license.id}/`, { method: 'PATCH', body: JSON.stringify({ max_borrow_time: -1 }) })).status).toBe(400);
    const borrowed = await client.post('floating/borrow', { ...ids, borrowed_until: null });
    expect(borrowed.body).toMatchObject({ borrowed_until: '2026-08-04T01:00:00.000Z', max_borrow_time: 12 });
  });

  it('floating features: check_license_feature takes a slot, release and borrow it, with the vendor error codes', async () => {
    clock.set('2026-08-03T14:00:00Z');
    const features = [{ code: 'export', isFloatingCloud: true, floatingUsers: 1, floatingTimeout: 30 }, { code: 'api-calls' }];
    const { ids, license } = await licenseFor(t, { type: 'perpetual', maxActivations: 3, canBorrow: true, maxBorrowTime: 2, features }, ['hw-1', 'hw-2']);
    const check = (hw: string, feature = 'export') => client.get('check_license_feature', { ...ids, hardware_id: hw, feature });
    const first = await check('hw-1');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ license_id: license.id, code: 'export', is_floating_cloud: true, floating_users: 1, floating_timeout: 30, floating_in_use_devices: 1 });
    const plain = await check('hw-1', 'api-calls');
    expect(plain.body).toMatchObject({ license_id: license.id, code: 'api-calls', is_floating_cloud: false });
    expect(plain.body).not.toHaveProperty('floating_in_use_devices');
    expectError(await check('hw-2'), 'floating_not_available');
    expectError(await check('hw-1', 'unknown-feature'), 'invalid_license_feature_code');
    expectError(await check('hw-9'), 'device_not_found');

    const release = (hw: string, feature = 'export') => client.post('floating/feature_release', { ...ids, hardware_id: hw, feature });
    expectError(await release('hw-1', 'api-calls'), 'feature_not_floating');
    expect((await release('hw-1')).text).toBe('""');
    expectError(await release('hw-1'), 'floating_feature_device_not_in_use');

    const borrow = (hw: string, until: string | null) => client.post('floating/feature_borrow', { ...ids, hardware_id: hw, feature: 'export', borrowed_until: until });
    expectError(await borrow('hw-2', '2026-08-03T16:00:01Z'), 'borrow_until_not_valid');
    const borrowed = await borrow('hw-2', '2026-08-03 15:30');
    expect(borrowed.body).toMatchObject({ license_id: license.id, borrowed_until: '2026-08-03T15:30:00.000Z', max_borrow_time: 2 });
    clock.set('2026-08-03T15:00:00Z');
    expectError(await check('hw-1'), 'floating_not_available');
    clock.set('2026-08-03T15:30:00Z');
    expect((await check('hw-1')).body).toMatchObject({ floating_in_use_devices: 1 });
  });
});
