import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { activate, call, seedV3License, seedV3Product, type Client } from './support.js';

/**
 * A repeated meter-attribute increment of an activation goes straight to the guarded update (no read
 * of the device or the license). Whatever can change since must still be refused exactly as on the
 * full path, with nothing counted: each case compares an activation seen before ("warm") with one
 * never incremented ("cold") in the same situation.
 */
describe('Web API v3: meter attribute increments of a known activation', () => {
  let t: TestServer;
  let client: Client;
  let productId: number;

  beforeAll(async () => {
    t = await startTestServer();
    client = { baseUrl: t.baseUrl };
    ({ productId } = await seedV3Product(t.services, t.account.id));
  });
  afterAll(async () => t?.stop());

  const bearer = () => ({ ...client, token: t.credentials.v3AccessToken });
  const increment = (activationId: string, amount = 1, extra: Record<string, unknown> = {}, attribute = 'api-calls') =>
    call(client, 'POST', `/v3/activations/meter-attributes/${attribute}`, { increment: amount, activationId, accountId: '', ...extra });
  const total = async (licenseId: number) => (await t.services.licenses.getLicense(t.account.id, licenseId)).features.find((f) => f.code === 'api-calls')?.total;

  /** A license with a warm activation (incremented once: total 1) and a cold one. */
  async function warmAndCold() {
    const license = await seedV3License(t.services, t.account.id, productId);
    const warm = await activate(t, license);
    const cold = await activate(t, license);
    expect((await increment(warm)).status).toBe(200);
    expect((await increment(warm)).body.uses).toBe(2);
    return { license, warm, cold };
  }

  it('counts a repeated increment exactly, with the uses of that activation', async () => {
    const { license, warm, cold } = await warmAndCold();
    const reads = vi.spyOn(t.services.devices, 'findActivation');
    const results = await Promise.all(Array.from({ length: 20 }, () => increment(warm)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(reads).not.toHaveBeenCalled(); // the warm activation's increments read nothing first
    reads.mockRestore();
    expect((await increment(cold, 5)).body).toMatchObject({ uses: 5, licenseTotalUses: 27 });
    expect(await total(license.id)).toBe(27);
    expect((await t.services.ledger.entriesFor(t.account.id, license.id)).length).toBe(23);
  });

  it('refuses a deleted activation as the full path does (404), counting nothing', async () => {
    const { license, warm, cold } = await warmAndCold();
    for (const id of [warm, cold]) expect((await call(bearer(), 'DELETE', `/v3/activations/${id}`)).status).toBe(204);
    const [w, c] = [await increment(warm), await increment(cold)];
    expect(w).toEqual(c);
    expect(w).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await total(license.id)).toBe(2);
  });

  it('refuses a meter attribute removed from the license, a disabled license and a blacklisted device as the full path does', async () => {
    const removed = await warmAndCold();
    await t.services.licenseAdmin.updateFeatures(t.account.id, removed.license.id, [{ code: 'export' }]);
    const [w1, c1] = [await increment(removed.warm), await increment(removed.cold)];
    expect(w1).toEqual(c1);
    expect(w1).toMatchObject({ status: 404, body: { code: 'METER_ATTRIBUTE_NOT_FOUND' } });

    const disabled = await warmAndCold();
    await t.services.licenseAdmin.setEnabled(t.account.id, disabled.license.id, false);
    const [w2, c2] = [await increment(disabled.warm), await increment(disabled.cold)];
    expect(w2).toEqual(c2);
    expect(w2.status).toBeGreaterThanOrEqual(400);
    expect(await total(disabled.license.id)).toBe(2);

    const blacklisted = await warmAndCold();
    for (const { device } of await t.services.devices.listActivations(t.account.id, { licenseId: blacklisted.license.id }, 0, 10)) {
      await t.services.devices.setBlacklisted(t.account.id, device.id, true);
    }
    const [w3, c3] = [await increment(blacklisted.warm), await increment(blacklisted.cold)];
    expect(w3).toEqual(c3);
    expect(w3.status).toBeGreaterThanOrEqual(400);
    expect(await total(blacklisted.license.id)).toBe(2);
  });

  it('still checks the account and product the body names, and the uses limit', async () => {
    const { license, warm, cold } = await warmAndCold();
    for (const extra of [{ accountId: String(t.account.id + 1000) }, { productId: String(productId + 1000) }]) {
      const [w, c] = [await increment(warm, 1, extra), await increment(cold, 1, extra)];
      expect(w).toEqual(c);
      expect(w).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    }
    const [w, c] = [await increment(warm, 149), await increment(cold, 149)];
    expect(w).toEqual(c);
    expect(w).toMatchObject({ status: 400, body: { code: 'METER_ATTRIBUTE_USES_LIMIT_REACHED' } });
    expect(await total(license.id)).toBe(2);
    // Below zero for this activation's own uses (2): refused the same way.
    const below = await increment(warm, -3);
    expect(below).toMatchObject({ status: 400, body: { code: 'METER_ATTRIBUTE_USES_BELOW_ZERO' } });
    expect(await total(license.id)).toBe(2);
  });
});
