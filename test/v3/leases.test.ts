import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivationSeatsRepository } from '../../server/db/activation-seats.js';
import { DevicesRepository } from '../../server/db/devices-repository.js';
import { newActivationId, newNumericId } from '../../server/domain/ids.js';
import type { SeatChange } from '../../server/domain/types.js';
import { ManualClock } from '../support/clock.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { activationBody, call, claimsOf, fingerprint, seedV3License, seedV3Product, subscribeToAllEvents, type Client } from './support.js';

/**
 * Web API v3 leases (hosted floating): `leaseDuration` sets `leaseExpiresAt`, a sync (PATCH) renews
 * it, an activation whose lease ended no longer counts toward `allowedActivations` and answers 404
 * NOT_FOUND, and its seat is given back with `activation.deleted`. The server's clock is moved by hand.
 */
describe('Web API v3: activation leases', () => {
  const clock = new ManualClock(new Date('2026-07-01T08:00:00Z'));
  let t: TestServer;
  let client: Client;
  let admin: Client;
  let productId: number;

  beforeAll(async () => {
    t = await startTestServer({ clock });
    client = { baseUrl: t.baseUrl };
    admin = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
    ({ productId } = await seedV3Product(t.services, t.account.id));
    await subscribeToAllEvents(t);
  });
  afterAll(async () => t?.stop());

  type License = Awaited<ReturnType<typeof seedV3License>>;
  const create = async (license: License, fp: string, extra: Record<string, unknown> = {}) => call(client, 'POST', '/v3/activations', activationBody(license, fp, extra));
  const activationId = async (license: License, fp: string, extra: Record<string, unknown> = {}) => {
    const res = await create(license, fp, extra);
    expect(res.status).toBe(201);
    return claimsOf(res.body.activationToken).aid as string;
  };
  const patch = (license: License, fp: string, id: string, extra: Record<string, unknown> = {}) => call(client, 'PATCH', `/v3/activations/${id}`, activationBody(license, fp, extra));
  const get = (id: string) => call(admin, 'GET', `/v3/activations/${id}`);
  const deletedEvents = async (id: string) =>
    t.server.db.models.Event.find({ type: 'activation.deleted', subject: id }).lean<Array<{ data: { id: string; leaseExpiresAt: string | null } }>>();

  it('an ended lease frees the activation: the limit counts live activations, the old one answers 404 and its deletion is raised once', async () => {
    clock.set('2026-07-01T08:00:00Z');
    const license = await seedV3License(t.services, t.account.id, productId, { maxActivations: 1 });
    const [fpA, fpB] = [fingerprint('lease-a'), fingerprint('lease-b')];
    const a = await activationId(license, fpA, { leaseDuration: 5 });
    expect((await get(a)).body.leaseExpiresAt).toBe('2026-07-01T08:00:05.000Z');
    expect(await create(license, fpB, { leaseDuration: 5 })).toMatchObject({ status: 400, body: { code: 'ACTIVATION_LIMIT_REACHED' } });

    clock.advance(5_000);
    // Expired: gone for the client, on every call that names it.
    expect(await patch(license, fpA, a)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await get(a)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await call(client, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 1, activationId: a, accountId: '' })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await call(admin, 'GET', `/v3/activations?licenseId=${license.id}`)).body).toEqual([]);
    const b = await activationId(license, fpB, { leaseDuration: 5 });
    expect((await get(b)).status).toBe(200);
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).timesActivated).toBe(1);
    const deleted = await deletedEvents(a);
    expect(deleted).toHaveLength(1);
    expect(deleted[0]!.data).toMatchObject({ id: a, leaseExpiresAt: '2026-07-01T08:00:05.000Z' });
  });

  it('50 machines race for 10 leased activations: exactly 10 get 201, 40 ACTIVATION_LIMIT_REACHED; after the leases end 50 others, exactly 10 again', async () => {
    clock.set('2026-07-01T09:30:00Z');
    const license = await seedV3License(t.services, t.account.id, productId, { maxActivations: 10 });
    const race = async (prefix: string) => {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => create(license, fingerprint(`${prefix}-${i}`), { leaseDuration: 60 })));
      return {
        created: answers.filter((a) => a.status === 201).length,
        refused: answers.filter((a) => a.status === 400 && a.body.code === 'ACTIVATION_LIMIT_REACHED').length,
      };
    };
    expect(await race('race-first')).toEqual({ created: 10, refused: 40 });
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).timesActivated).toBe(10);
    clock.advance(60_000);
    expect(await race('race-second')).toEqual({ created: 10, refused: 40 });
    expect((await call(admin, 'GET', `/v3/activations?licenseId=${license.id}`)).body).toHaveLength(10);
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).timesActivated).toBe(10);
  });

  it('a sync without leaseDuration renews by the last requested one; 0 or -1 removes the lease end', async () => {
    clock.set('2026-07-01T09:00:00Z');
    const license = await seedV3License(t.services, t.account.id, productId);
    const fp = fingerprint('renew');
    const id = await activationId(license, fp, { leaseDuration: 60 });
    clock.advance(40_000);
    expect((await patch(license, fp, id)).status).toBe(200);
    expect((await get(id)).body.leaseExpiresAt).toBe('2026-07-01T09:01:40.000Z');
    clock.advance(40_000);
    // Renewed at 09:00:40 for 60 s: still live at 09:01:20.
    expect((await patch(license, fp, id, { leaseDuration: 0 })).status).toBe(200);
    expect((await get(id)).body.leaseExpiresAt).toBeNull();
    clock.advance(3_600_000);
    expect((await patch(license, fp, id, { leaseDuration: 30 })).status).toBe(200);
    expect((await get(id)).body.leaseExpiresAt).toBe('2026-07-01T10:01:50.000Z');
    expect((await patch(license, fp, id, { leaseDuration: -1 })).status).toBe(200);
    expect((await get(id)).body.leaseExpiresAt).toBeNull();
  });

  it('on a floating-cloud license a sync renews by the license floating_timeout, and a new activation takes an expired one\'s place', async () => {
    clock.set('2026-07-01T11:00:00Z');
    const license = await seedV3License(t.services, t.account.id, productId, { maxActivations: 1, isFloatingCloud: true, floatingUsers: 2, floatingTimeout: 2 });
    const fps = [fingerprint('float-a'), fingerprint('float-b'), fingerprint('float-c')];
    const a = await activationId(license, fps[0]!);
    const b = await activationId(license, fps[1]!, { leaseDuration: 30 });
    expect((await get(a)).body.leaseExpiresAt).toBe('2026-07-01T11:02:00.000Z');
    expect((await get(b)).body.leaseExpiresAt).toBe('2026-07-01T11:00:30.000Z');
    expect(await create(license, fps[2]!)).toMatchObject({ status: 400, body: { code: 'ACTIVATION_LIMIT_REACHED' } });
    clock.advance(60_000);
    expect((await patch(license, fps[0]!, a)).status).toBe(200);
    expect((await get(a)).body.leaseExpiresAt).toBe('2026-07-01T11:03:00.000Z');
    // b's lease ended at 11:00:30: c takes its place.
    await activationId(license, fps[2]!);
    expect(await patch(license, fps[1]!, b)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await call(admin, 'GET', `/v3/activations?licenseId=${license.id}`)).body).toHaveLength(2);
    expect(await deletedEvents(b)).toHaveLength(1);
  });

  it('an expired activation\'s floating meter attribute uses go back to the license total when its place is taken, guarded by the uses as read', async () => {
    clock.set('2026-07-01T12:00:00Z');
    const license = await seedV3License(t.services, t.account.id, productId, { maxActivations: 1 });
    const [fpA, fpB] = [fingerprint('uses-a'), fingerprint('uses-b')];
    const a = await activationId(license, fpA, { leaseDuration: 5 });
    const increment = (id: string, amount: number) => call(client, 'POST', '/v3/activations/meter-attributes/floating-calls', { increment: amount, activationId: id, accountId: '' });
    expect((await increment(a, 7)).status).toBe(200);
    clock.advance(5_000);

    // A swap guarded by stale uses (3, where 7 are held) matches nothing and changes nothing.
    const seats = new ActivationSeatsRepository(t.server.db.models);
    const devices = new DevicesRepository(t.server.db.models);
    const old = (await devices.findByActivationId(a))!;
    const fresh = await devices.upsert({ accountId: t.account.id, licenseId: license.id, productId: license.productId, hardwareId: 'stale-guard' }, () => ({ id: newNumericId(), activationId: newActivationId() }), clock.now());
    const change = (op: SeatChange['op']): SeatChange => ({ id: `${op}-${newNumericId()}`, op, deadline: new Date(Date.now() + 5_000) });
    const index = (await t.services.licenses.getLicense(t.account.id, license.id)).features.findIndex((f) => f.code === 'floating-calls');
    expect(await seats.take(t.account.id, license.id, fresh.id, change('take'), clock.now(), [], { deviceId: old.id, change: change('release'), floating: [{ code: 'floating-calls', index, uses: 3 }] })).toBeNull();
    const before = await t.services.licenses.getLicense(t.account.id, license.id);
    expect(before.features[index]).toMatchObject({ total: 7, uses: { [String(old.id)]: 7 } });
    expect(before.timesActivated).toBe(1);

    await activationId(license, fpB);
    const after = await t.services.licenses.getLicense(t.account.id, license.id);
    expect(after.features[index]!.total).toBe(0);
    expect(after.features[index]!.uses[String(old.id)]).toBeUndefined();
    const ledger = await t.server.db.models.LedgerEntry.find({ licenseId: license.id, featureCode: 'floating-calls' }).sort({ at: 1 }).lean<Array<{ amount: number; event: string }>>();
    expect(ledger.map((e) => [e.event, e.amount])).toEqual([
      ['meter_increment', 7],
      ['release', -7],
    ]);
  });
});
