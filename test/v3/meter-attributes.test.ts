import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { activate, call, fingerprint, seedV3License, seedV3Product, subscribeToAllEvents, type Client } from './support.js';

/** POST /v3/activations/meter-attributes/{id} exactly as seed 000. */
describe('Web API v3: activation meter attributes', () => {
  let t: TestServer;
  let client: Client;
  let productId: number;

  beforeAll(async () => {
    t = await startTestServer();
    client = { baseUrl: t.baseUrl };
    ({ productId } = await seedV3Product(t.services, t.account.id));
  });
  afterAll(async () => t?.stop());

  const newLicense = (extra = {}) => seedV3License(t.services, t.account.id, productId, extra);
  const increment = (attribute: string, activationId: string, amount: number, extra: Record<string, unknown> = {}, token?: string) =>
    call(client, 'POST', `/v3/activations/meter-attributes/${encodeURIComponent(attribute)}`, { increment: amount, activationId, accountId: '', ...extra }, token);
  const usesOf = async (activationId: string, name: string) => {
    const res = await call({ ...client, token: t.credentials.v3AccessToken }, 'GET', `/v3/activations/${activationId}`);
    return res.body.meterAttributes.find((m: { name: string }) => m.name === name).uses as number;
  };
  const stored = async (licenseId: number, code: string) => (await t.services.licenses.getLicense(t.account.id, licenseId)).features.find((f) => f.code === code)!;

  it('answers the uses after the change, by name or by id, with the license totals', async () => {
    const license = await newLicense();
    const aid = await activate(t, license);
    const res = await increment('api-calls', aid, 7, { productId: String(productId), accountId: String(t.account.id) });
    expect(res).toEqual({ status: 200, body: { name: 'api-calls', uses: 7, licenseAllowedUses: 150, licenseTotalUses: 7, licenseGrossUses: 7 } });
    const featureId = (await stored(license.id, 'api-calls')).id;
    const byId = await increment(String(featureId), aid, 3);
    expect(byId.body).toEqual({ name: 'api-calls', uses: 10, licenseAllowedUses: 150, licenseTotalUses: 10, licenseGrossUses: 10 });
  });

  it('a counted increment moves the activation\'s updatedAt and lastSyncedAt (a refused one does not)', async () => {
    const license = await newLicense();
    const aid = await activate(t, license);
    const get = async () => (await call({ ...client, token: t.credentials.v3AccessToken }, 'GET', `/v3/activations/${aid}`)).body as { updatedAt: string; lastSyncedAt: string };
    const before = await get();
    expect(before.lastSyncedAt).toBe(before.updatedAt);
    await new Promise((resolve) => setTimeout(resolve, 15));
    const started = Date.now();
    expect((await increment('api-calls', aid, 2)).status).toBe(200);
    const after = await get();
    expect(Date.parse(after.updatedAt)).toBeGreaterThanOrEqual(started);
    expect(after.lastSyncedAt).toBe(after.updatedAt);
    // Once the increment is known (the shortcut without reads), it still moves them.
    await new Promise((resolve) => setTimeout(resolve, 15));
    const again = Date.now();
    expect((await increment('api-calls', aid, 1)).status).toBe(200);
    expect(Date.parse((await get()).lastSyncedAt)).toBeGreaterThanOrEqual(again);
    const synced = await get();
    await new Promise((resolve) => setTimeout(resolve, 15));
    expect((await increment('api-calls', aid, 1000)).status).toBe(400);
    expect(await get()).toEqual(synced);
  });

  it('refuses an increment past the allowed uses with 400 METER_ATTRIBUTE_USES_LIMIT_REACHED, changing nothing', async () => {
    const license = await newLicense();
    const a = await activate(t, license);
    const b = await activate(t, license);
    expect((await increment('api-calls', a, 100)).status).toBe(200);
    expect((await increment('api-calls', b, 50)).body.licenseTotalUses).toBe(150);
    const over = await increment('api-calls', b, 1);
    expect(over).toEqual({ status: 400, body: { code: 'METER_ATTRIBUTE_USES_LIMIT_REACHED', message: expect.any(String) } });
    const feature = await stored(license.id, 'api-calls');
    expect(feature).toMatchObject({ total: 150, gross: 150 });
    expect(await usesOf(b, 'api-calls')).toBe(50);
    expect((await t.services.ledger.entriesFor(t.account.id, license.id)).map((e) => e.amount)).toEqual([100, 50]);
  });

  it('never takes an activation\'s uses or the license total below 0', async () => {
    const license = await newLicense();
    const a = await activate(t, license);
    const b = await activate(t, license);
    await increment('api-calls', a, 5);
    await increment('api-calls', b, 10);
    const below = await increment('api-calls', a, -6);
    expect(below).toMatchObject({ status: 400, body: { code: 'METER_ATTRIBUTE_USES_BELOW_ZERO' } });
    expect(await usesOf(a, 'api-calls')).toBe(5);
    const fresh = await activate(t, license);
    expect((await increment('api-calls', fresh, -1)).body.code).toBe('METER_ATTRIBUTE_USES_BELOW_ZERO');
    const ok = await increment('api-calls', a, -5);
    expect(ok.body).toEqual({ name: 'api-calls', uses: 0, licenseAllowedUses: 150, licenseTotalUses: 10, licenseGrossUses: 15 });
  });

  it('treats -1 allowed uses as unlimited', async () => {
    const license = await newLicense();
    const a = await activate(t, license);
    const res = await increment('unlimited-calls', a, 1_000_000_000);
    expect(res.body).toEqual({ name: 'unlimited-calls', uses: 1_000_000_000, licenseAllowedUses: -1, licenseTotalUses: 1_000_000_000, licenseGrossUses: 1_000_000_000 });
  });

  it('answers 404 for unknown attributes, non-meter features, activations and mismatched ids', async () => {
    const license = await newLicense();
    const a = await activate(t, license);
    expect(await increment('nope', a, 1)).toMatchObject({ status: 404, body: { code: 'METER_ATTRIBUTE_NOT_FOUND' } });
    expect(await increment('export', a, 1)).toMatchObject({ status: 404, body: { code: 'METER_ATTRIBUTE_NOT_FOUND' } });
    expect(await increment('api-calls', '4de4adb9-21ee-47e3-aeb4-8cf8ed6c109a', 1)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await increment('api-calls', a, 1, { accountId: '1234' })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await increment('api-calls', a, 1, { productId: '1234' })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await increment('api-calls', a, 1, {}, 'not-a-token')).toMatchObject({ status: 401, body: { code: 'AUTHENTICATION_FAILED' } });
    const other = await t.createAccount();
    expect(await increment('api-calls', a, 1, {}, other.credentials.v3AccessToken)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await increment('api-calls', a, 1, {}, t.credentials.v3AccessToken)).status).toBe(200);
    expect((await stored(license.id, 'api-calls')).total).toBe(1);
  });

  it('rejects a malformed body naming the field', async () => {
    const license = await newLicense();
    const a = await activate(t, license);
    const fractional = await call(client, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 1.5, activationId: a, accountId: '' });
    expect(fractional.status).toBe(400);
    expect(fractional.body.message).toContain('/body/increment');
    const noAccount = await call(client, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 1, activationId: a });
    expect(noAccount.body.message).toContain('accountId');
    const emptyActivation = await call(client, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 1, activationId: '', accountId: '' });
    expect(emptyActivation.body.message).toContain('/body/activationId');
    const huge = await increment('unlimited-calls', a, 2 ** 60);
    expect(huge).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect((await stored(license.id, 'unlimited-calls')).total).toBe(0);
  });

  it('accepts exactly the allowed uses under 400 parallel increments across 4 activations', async () => {
    const license = await newLicense();
    const ids = [await activate(t, license), await activate(t, license), await activate(t, license), await activate(t, license)];
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => increment('api-calls', ids[i % 4]!, 1)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(150);
    expect(results.filter((r) => r.status === 400 && r.body.code === 'METER_ATTRIBUTE_USES_LIMIT_REACHED')).toHaveLength(250);
    const feature = await stored(license.id, 'api-calls');
    expect(feature.total).toBe(150);
    expect(feature.gross).toBe(150);
    const perActivation = await Promise.all(ids.map((id) => usesOf(id, 'api-calls')));
    expect(perActivation.reduce((a, b) => a + b, 0)).toBe(150);
    expect(Object.values(feature.uses).reduce((a, b) => a + b, 0)).toBe(150);
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(ledger).toHaveLength(150);
  });

  it('keeps gross uses through decrements and deletions; a floating meter gets a deleted activation\'s uses back', async () => {
    const license = await newLicense();
    const a = await activate(t, license);
    const b = await activate(t, license);
    await increment('api-calls', a, 10);
    await increment('api-calls', b, 20);
    await increment('api-calls', a, -4);
    await increment('floating-calls', a, 7);
    await increment('floating-calls', b, 3);
    expect((await increment('api-calls', b, 0)).body).toMatchObject({ licenseTotalUses: 26, licenseGrossUses: 30 });
    expect((await call(client, 'DELETE', `/v3/activations/${a}`)).status).toBe(204);
    // Not floating: a's 6 uses stay counted. Floating: a's 7 go back.
    expect((await increment('api-calls', b, 0)).body).toEqual({ name: 'api-calls', uses: 20, licenseAllowedUses: 150, licenseTotalUses: 26, licenseGrossUses: 30 });
    expect((await increment('floating-calls', b, 0)).body).toEqual({ name: 'floating-calls', uses: 3, licenseAllowedUses: 100, licenseTotalUses: 3, licenseGrossUses: 10 });
    const floating = await stored(license.id, 'floating-calls');
    expect(Object.values(floating.uses).reduce((x, y) => x + y, 0)).toBe(floating.total);
    const calls = await stored(license.id, 'api-calls');
    expect(Object.values(calls.uses).reduce((x, y) => x + y, 0)).toBe(calls.total);
    expect((await increment('api-calls', a, 1)).body.code).toBe('NOT_FOUND');
    expect((await increment('floating-calls', b, 97)).body.licenseTotalUses).toBe(100);
  });

  it('an activation freed through the License API gives its floating uses back too (one seat release for every dialect)', async () => {
    const license = await newLicense();
    const fp = fingerprint();
    const a = await activate(t, license, fp);
    await increment('floating-calls', a, 7);
    await increment('api-calls', a, 5);
    // What License API v4 deactivate_license does for hardware_id = the activation's fingerprint.
    await t.services.devices.deactivate(t.account.id, { licenseId: license.id }, fp);
    const floating = await stored(license.id, 'floating-calls');
    expect(floating).toMatchObject({ total: 0, gross: 7 });
    expect((await stored(license.id, 'api-calls')).total).toBe(5);
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    const floatingEntries = ledger.filter((e) => e.featureCode === 'floating-calls');
    expect(floatingEntries.map((e) => [e.event, e.amount, e.totalAfter])).toEqual([
      ['meter_increment', 7, 7],
      ['release', -7, 0],
    ]);
    expect(floatingEntries.reduce((sum, e) => sum + e.amount, 0)).toBe(floating.total);
  });

  it('records activation.updated with the activation\'s meter attribute uses', async () => {
    await subscribeToAllEvents(t);
    const license = await newLicense();
    const a = await activate(t, license);
    await increment('api-calls', a, 4);
    const events = await t.services.events.list(t.account.id, { subject: a, type: 'activation.updated' });
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ id: a, licenseId: String(license.id), meterAttributes: expect.arrayContaining([{ name: 'api-calls', uses: 4 }]) });
  });
});
