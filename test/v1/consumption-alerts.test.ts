import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { subscribeToAllEvents } from '../v3/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** `consumption_alert_thresholds` of licenses (license-level consumption) and license features, through the Management API v1. */
describe('Management API v1: consumption alert thresholds', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
    await subscribeToAllEvents(t);
  });
  afterAll(async () => t?.stop());

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const headers: Record<string, string> = { authorization: `Api-Key ${t.credentials.managementApiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: await res.json() };
  }

  let seq = 0;
  async function product() {
    seq += 1;
    const p = (await api('POST', '/api/v1/products/', { product_name: `Alerts ${seq}`, short_code: `alerts${seq}` })).body;
    for (const [code, max] of [['f2', 20], ['f5', 8]] as const) {
      expect((await api('POST', '/api/v1/product-features/', { product: p.id, name: code, code, feature_type: 'consumption', max_consumption: max })).status).toBe(201);
    }
    return p as { id: number };
  }

  const thresholdsOf = (license: Json) => ({
    license: license.consumption_alert_thresholds,
    features: Object.fromEntries(license.product_features.map((f: Json) => [f.product_feature.code, f.consumption_alert_thresholds])),
  });

  const events = async (licenseId: number) =>
    (await t.services.events.list(t.account.id, { subject: `license:${licenseId}`, type: 'consumption.threshold-reached' })).map((e) => {
      const d = e.data as { meterAttribute: string | null; thresholdPercent: number; thresholdUses: number };
      return [d.meterAttribute, d.thresholdPercent, d.thresholdUses];
    });

  it('creates with thresholds (answered ascending; [80, 100] when left out), changes them with PATCH and update_features, and the consumptions follow them', async () => {
    const p = await product();
    const created = await api('POST', '/api/v1/licenses/', {
      product: p.id,
      license_type: 'consumption',
      max_activations: 1,
      max_consumptions: 8,
      consumption_alert_thresholds: [100, 50],
      product_features: [{ product_feature: 'f2', consumption_alert_thresholds: [90, 10] }, { product_feature: 'f5' }],
    });
    expect(created.status).toBe(201);
    expect(thresholdsOf(created.body)).toEqual({ license: [50, 100], features: { f2: [10, 90], f5: [80, 100] } });
    const id = created.body.id as number;

    const patched = await api('PATCH', `/api/v1/licenses/${id}/`, { consumption_alert_thresholds: [25] });
    expect(patched.status).toBe(200);
    const updated = await api('POST', `/api/v1/licenses/${id}/update_features/`, { product_features: [{ product_feature: 'f2' }, { product_feature: 'f5', consumption_alert_thresholds: [] }] });
    expect(updated.status).toBe(200);
    expect(thresholdsOf(updated.body)).toEqual({ license: [25], features: { f2: [10, 90], f5: [] } });
    expect(thresholdsOf((await api('GET', `/api/v1/licenses/${id}/`)).body)).toEqual({ license: [25], features: { f2: [10, 90], f5: [] } });

    const consume = (target: { scope: 'license' } | { scope: 'feature'; code: string }, amount: number) =>
      t.services.consumption.consume({ accountId: t.account.id, license: { licenseId: id }, target, amount, negatives: 'policy', event: 'consumption_add', ...(target.scope === 'license' ? { requireConsumptionLicense: true } : {}) });
    await consume({ scope: 'license' }, 8);
    await consume({ scope: 'feature', code: 'f2' }, 20);
    await consume({ scope: 'feature', code: 'f5' }, 8);
    expect(await events(id)).toEqual([
      [null, 25, 2],
      ['f2', 10, 2],
      ['f2', 90, 18],
    ]);
  });

  it('refuses thresholds outside 1-100, repeated, fractional or not a list with 400 validation_failed, changing nothing', async () => {
    const p = await product();
    const created = await api('POST', '/api/v1/licenses/', { product: p.id, license_type: 'consumption', max_activations: 1, consumption_alert_thresholds: [60] });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    const before = (await api('GET', `/api/v1/licenses/${id}/`)).body;
    for (const bad of [[0], [101], [50, 50], [1.5], ['80'], 80, null, [-5]]) {
      for (const res of [
        await api('PATCH', `/api/v1/licenses/${id}/`, { consumption_alert_thresholds: bad }),
        await api('POST', `/api/v1/licenses/${id}/update_features/`, { product_features: [{ product_feature: 'f2', consumption_alert_thresholds: bad }] }),
        await api('POST', '/api/v1/licenses/', { product: p.id, license_type: 'consumption', max_activations: 1, consumption_alert_thresholds: bad }),
      ]) {
        expect({ bad, status: res.status, code: res.body.code }).toEqual({ bad, status: 400, code: 'validation_failed' });
      }
    }
    expect((await api('GET', `/api/v1/licenses/${id}/`)).body).toEqual(before);
    expect((await api('GET', `/api/v1/licenses/?product=${p.id}`)).body.count).toBe(1);
  });
});
