/**
 * The provider side's own machinery, on the real server: parameterised states seed through the
 * domain and hand back the generated ids, every state starts from an empty database, a failing
 * handler is recorded, and the request filter swaps placeholder credentials for real ones.
 */
import type { Request, Response } from 'express';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { placeholderCredentials } from '../support/pact-setup.js';
import { STATE, states } from '../support/provider-states.js';
import { credentialsRequestFilter } from './request-filter.js';
import { createStateHandlers, loudStateHandlers, type ProviderContext, type StateFailure } from './state-handlers.js';

describe('provider states and request filter', () => {
  let server: TestServer;
  let ctx: ProviderContext;
  let handlers: ReturnType<typeof createStateHandlers>;
  beforeAll(async () => {
    server = await startTestServer();
    ctx = { server };
    handlers = createStateHandlers(ctx);
  });
  afterAll(async () => server?.stop());

  const run = (state: { name: string; params: Record<string, string | number | boolean> }) => handlers[state.name as keyof typeof handlers](state.params);
  const accountId = () => ctx.current!.account.id;

  it('a license with a feature that has {remaining} consumptions left, some already used', async () => {
    const values = await run(states.licenseWithFeatureConsumptions({ key: 'AAAA-BBBB-CCCC-DDDD', code: 'api-calls', remaining: 7, used: 3 }));
    const license = await server.services.licenses.getLicense(accountId(), Number(values?.licenseId));
    expect(license.key).toBe('AAAA-BBBB-CCCC-DDDD');
    expect(license.productId).toBe(values?.productId);
    const feature = license.features.find((f) => f.code === 'api-calls');
    expect({ total: feature?.total, ceiling: feature?.ceiling }).toEqual({ total: 3, ceiling: 10 });
  });

  it('a consumption license with {remaining} license-level consumptions left', async () => {
    const values = await run(states.licenseWithConsumptions({ key: 'KEY-1', remaining: 4, used: 1 }));
    const license = await server.services.licenses.getLicense(accountId(), Number(values?.licenseId));
    expect(license.type).toBe('consumption');
    expect({ total: license.consumption.total, ceiling: license.consumption.ceiling }).toEqual({ total: 1, ceiling: 5 });
  });

  it('a license activated on a device; each state starts from an empty database with a new account', async () => {
    await run(states.serviceRunning());
    const first = ctx.current!.account.id;
    const values = await run(states.licenseActivatedOnDevice({ key: 'KEY-2', hardwareId: 'hw-1' }));
    expect(ctx.current!.account.id).not.toBe(first);
    await expect(server.services.accounts.getAccount(first)).rejects.toThrow();
    const device = await server.services.devices.getDevice(accountId(), Number(values?.deviceId));
    expect(device.licenseId).toBe(values?.licenseId);
    const license = await server.services.licenses.getLicense(accountId(), Number(values?.licenseId));
    expect(license.timesActivated).toBe(1);
  });

  it('a license state with a hardwareId activates that device first (the License API counts only for an active device)', async () => {
    const values = await run(states.licenseWithFeatureConsumptions({ key: 'KEY-3', code: 'api-calls', remaining: 1, hardwareId: 'hw-9' }));
    const device = await server.services.devices.getDevice(accountId(), Number(values?.deviceId));
    expect({ licenseId: device.licenseId, hardwareId: device.hardwareId, active: device.active }).toEqual({ licenseId: values?.licenseId, hardwareId: 'hw-9', active: true });
    const withoutDevice = await run(states.licenseWithConsumptions({ key: 'KEY-4', remaining: 1 }));
    expect(withoutDevice?.deviceId).toBeUndefined();
  });

  it('a floating cloud license with borrowing as asked, whose slot the device holds, and a valid borrowed_until', async () => {
    const before = Date.now();
    const values = await run(states.floatingLicenseOnDevice({ key: 'KEY-6', hardwareId: 'hw-f1', floatingUsers: 3, floatingTimeout: 15, canBorrow: false, maxBorrowTime: 12 }));
    const license = await server.services.licenses.getLicense(accountId(), Number(values?.licenseId));
    expect({ key: license.key, isFloatingCloud: license.isFloatingCloud, floatingUsers: license.floatingUsers, floatingTimeout: license.floatingTimeout, canBorrow: license.canBorrow, maxBorrowTime: license.maxBorrowTime }).toEqual({
      key: 'KEY-6',
      isFloatingCloud: true,
      floatingUsers: 3,
      floatingTimeout: 15,
      canBorrow: false,
      maxBorrowTime: 12,
    });
    const device = await server.services.devices.getDevice(accountId(), Number(values?.deviceId));
    expect({ hardwareId: device.hardwareId, active: device.active, licenseId: device.licenseId }).toEqual({ hardwareId: 'hw-f1', active: true, licenseId: values?.licenseId });
    expect(await server.services.devices.liveSeats(license)).toBe(1);
    const until = Date.parse(String(values?.borrowedUntil));
    expect(until - before).toBeGreaterThanOrEqual(3_600_000);
    expect(until - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(values?.borrowedUntil).toBe(new Date(until).toISOString());
  });

  it('a floating cloud license whose only slot another device holds: the device released its own', async () => {
    const values = await run(states.floatingLicenseTakenByOther({ key: 'KEY-7', hardwareId: 'hw-f1', holder: 'hw-f2' }));
    const license = await server.services.licenses.getLicense(accountId(), Number(values?.licenseId));
    expect({ floatingUsers: license.floatingUsers, canBorrow: license.canBorrow }).toEqual({ floatingUsers: 1, canBorrow: true });
    const { items: devices } = await server.services.devices.listDevices(accountId(), { licenseId: license.id }, 0, 10);
    expect(devices.map((d) => ({ id: d.id, hardwareId: d.hardwareId, active: d.active }))).toEqual([
      { id: values?.deviceId, hardwareId: 'hw-f1', active: false },
      { id: expect.any(Number), hardwareId: 'hw-f2', active: true },
    ]);
    expect(await server.services.devices.liveSeats(license)).toBe(1);
  });

  it('a license with a floating cloud feature and a plain one, the device on a seat, a slot held as asked', async () => {
    const base = { key: 'KEY-8', hardwareId: 'hw-f1', code: 'render', plainCode: 'export' };
    const values = await run(states.floatingFeatureOnDevice({ ...base, floatingUsers: 2, floatingTimeout: 15, canBorrow: false, maxBorrowTime: 12 }));
    const license = await server.services.licenses.getLicense(accountId(), Number(values?.licenseId));
    expect({ key: license.key, isFloatingCloud: license.isFloatingCloud, canBorrow: license.canBorrow, maxBorrowTime: license.maxBorrowTime }).toEqual({ key: 'KEY-8', isFloatingCloud: false, canBorrow: false, maxBorrowTime: 12 });
    expect(license.features.map((f) => ({ code: f.code, isFloatingCloud: f.isFloatingCloud, floatingUsers: f.floatingUsers, floatingTimeout: f.floatingTimeout }))).toEqual([
      { code: 'render', isFloatingCloud: true, floatingUsers: 2, floatingTimeout: 15 },
      { code: 'export', isFloatingCloud: false, floatingUsers: 0, floatingTimeout: null },
    ]);
    const device = await server.services.devices.getDevice(accountId(), Number(values?.deviceId));
    expect({ hardwareId: device.hardwareId, active: device.active, licenseId: device.licenseId }).toEqual({ hardwareId: 'hw-f1', active: true, licenseId: values?.licenseId });
    expect(await server.services.featureSlots.inUse(license.id, 'render')).toBe(0);
    expect(Date.parse(String(values?.borrowedUntil)) - Date.now()).toBeGreaterThan(3_500_000);

    const own = await run(states.floatingFeatureOnDevice({ ...base, holder: 'hw-f1' }));
    expect(await server.services.featureSlots.inUse(Number(own?.licenseId), 'render')).toBe(1);
    await expect(server.services.featureSlots.release(accountId(), { licenseId: Number(own?.licenseId) }, 'hw-f1', 'render')).resolves.toBeUndefined();

    const other = await run(states.floatingFeatureOnDevice({ ...base, holder: 'hw-f2' }));
    const otherLicense = await server.services.licenses.getLicense(accountId(), Number(other?.licenseId));
    expect(otherLicense.features[0]?.floatingUsers).toBe(1);
    expect(await server.services.devices.liveSeats(otherLicense)).toBe(2);
    await expect(server.services.featureSlots.check(accountId(), { licenseId: otherLicense.id }, 'hw-f1', 'render')).rejects.toMatchObject({ code: 'floating_seat_unavailable' });
    await expect(handlers[STATE.floatingFeatureOnDevice]({ key: 'KEY-9', hardwareId: 'hw-f1', code: 'render' })).rejects.toThrow('"plainCode" must be a string');
  });

  it('v3 states return string ids and an activation that reported its machine details', async () => {
    const values = await run(states.v3Activation({ key: 'KEY-5', code: 'api-calls', remaining: 2, fingerprint: 'fp-'.padEnd(64, 'x') }));
    expect(values).toEqual({
      accountId: String(accountId()),
      productId: expect.stringMatching(/^\d+$/),
      licenseId: expect.stringMatching(/^\d+$/),
      activationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const { device, license } = await server.services.devices.findActivation({ accountId: accountId() }, String(values?.activationId));
    expect({ os: device.os, hostname: device.hostname, licenseId: String(license.id) }).toEqual({ os: 'linux', hostname: 'build-01', licenseId: values?.licenseId });
    expect(license.features.find((f) => f.code === 'api-calls')?.ceiling).toBe(2);
  });

  it('the database is unreachable: /readyz answers 503 until the next state', async () => {
    await run(states.databaseUnreachable());
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(503);
    await run(states.serviceRunning());
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
  });

  it('records a failing handler (Pact itself would only log it)', async () => {
    const failures: StateFailure[] = [];
    const loud = loudStateHandlers(handlers, failures);
    await expect(loud[STATE.licenseWithFeatureConsumptions]!({ key: 'K', code: 'c' })).rejects.toThrow(/remaining/);
    expect(failures).toEqual([{ state: STATE.licenseWithFeatureConsumptions, error: expect.stringContaining('"remaining" must be a number') }]);
  });

  describe('request filter', () => {
    const filter = (path: string, headers: Record<string, string>) => {
      const req = { path, headers: { ...headers } } as unknown as Request;
      let called = false;
      credentialsRequestFilter(ctx)(req, {} as Response, () => {
        called = true;
      });
      expect(called).toBe(true);
      return req.headers;
    };

    it('swaps the placeholder Api-Key and Bearer token for the current account’s', async () => {
      await run(states.account());
      const real = ctx.current!.credentials;
      expect(filter('/api/v1/licenses', { authorization: `Api-Key ${placeholderCredentials.managementApiKey}` }).authorization).toBe(`Api-Key ${real.managementApiKey}`);
      expect(filter('/v3/activations/x', { authorization: `Bearer ${placeholderCredentials.accessToken}` }).authorization).toBe(`Bearer ${real.v3AccessToken}`);
      expect(filter('/api/v1/licenses', { authorization: 'Api-Key wrong' }).authorization).toBe('Api-Key wrong');
    });

    it('re-signs /api/v4 requests with a fresh Date and the real shared key', async () => {
      await run(states.account());
      const real = ctx.current!.credentials;
      const headers = filter('/api/v4/add_consumption', {
        date: 'Tue, 04 Mar 2025 10:15:30 GMT',
        authorization: `algorithm="hmac-sha256",headers="date",signature="AAAA",apikey="${placeholderCredentials.licenseApi.apiKey}"`,
      });
      expect(Math.abs(Date.parse(headers.date!) - Date.now())).toBeLessThan(5_000);
      const signature = createHmac('sha256', real.sharedKey).update(`licenseSpring\ndate: ${headers.date}`).digest('base64');
      expect(headers.authorization).toBe(`algorithm="hmac-sha256",headers="date",signature="${signature}",apikey="${real.licenseApiKey}"`);
      const other = 'algorithm="hmac-sha256",headers="date",signature="AAAA",apikey="unknown-key"';
      const untouched = filter('/api/v4/add_consumption', { date: 'Tue, 04 Mar 2025 10:15:30 GMT', authorization: other });
      expect(untouched.authorization).toBe(other);
      expect(Math.abs(Date.parse(untouched.date!) - Date.now())).toBeLessThan(5_000);
    });
  });
});
