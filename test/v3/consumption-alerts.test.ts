import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { activate, activationBody, call, fingerprint, seedV3License, seedV3Product, subscribeToAllEvents, type Client } from './support.js';

/**
 * Alert thresholds through the Web API v3 paths: meter attribute increments (one counter per write)
 * and activation updates (several meter attributes in one write). Each threshold is recorded once
 * however many changes race across it (api-calls: 150 allowed, thresholds 120 and 150).
 */
describe('Web API v3: consumption alert thresholds under parallel changes', () => {
  let t: TestServer;
  let client: Client;
  let productId: number;

  beforeAll(async () => {
    t = await startTestServer();
    client = { baseUrl: t.baseUrl };
    ({ productId } = await seedV3Product(t.services, t.account.id));
    await subscribeToAllEvents(t);
  });
  afterAll(async () => t?.stop());

  const reached = async (licenseId: number) =>
    (await t.services.events.list(t.account.id, { subject: `license:${licenseId}`, type: 'consumption.threshold-reached' })).map((e) => {
      const d = e.data as { meterAttribute: string; thresholdPercent: number; thresholdUses: number; totalUses: number };
      return [d.meterAttribute, d.thresholdPercent, d.thresholdUses];
    });

  it('300 parallel increments across 3 activations: 150 accepted, 80 % and 100 % recorded once each', async () => {
    const license = await seedV3License(t.services, t.account.id, productId);
    const ids = [await activate(t, license, fingerprint('i1')), await activate(t, license, fingerprint('i2')), await activate(t, license, fingerprint('i3'))];
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => call(client, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 1, activationId: ids[i % 3], accountId: '' })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(150);
    expect(results.filter((r) => r.status === 400 && r.body.code === 'METER_ATTRIBUTE_USES_LIMIT_REACHED')).toHaveLength(150);
    expect((await t.services.licenses.getLicense(t.account.id, license.id)).features.find((f) => f.code === 'api-calls')!.total).toBe(150);
    expect(await reached(license.id)).toEqual([
      ['api-calls', 80, 120],
      ['api-calls', 100, 150],
    ]);
  });

  it('100 parallel activation updates of two meter attributes at once: each threshold of each attribute recorded once', async () => {
    const license = await seedV3License(t.services, t.account.id, productId);
    const fp = fingerprint('patch');
    const aid = await activate(t, license, fp);
    // api-calls +3 (150 allowed), floating-calls +2 (100 allowed): 50 updates fit, all or nothing each.
    const body = { ...activationBody(license, fp), meterAttributes: [{ name: 'api-calls', usesIncrement: 3 }, { name: 'floating-calls', usesIncrement: 2 }] };
    const results = await Promise.all(Array.from({ length: 100 }, () => call(client, 'PATCH', `/v3/activations/${aid}`, body)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(50);
    for (const r of results) if (r.status !== 200) expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'METER_ATTRIBUTE_USES_LIMIT_REACHED' });
    const features = (await t.services.licenses.getLicense(t.account.id, license.id)).features;
    expect([features.find((f) => f.code === 'api-calls')!.total, features.find((f) => f.code === 'floating-calls')!.total]).toEqual([150, 100]);
    expect((await reached(license.id)).sort()).toEqual(
      [
        ['api-calls', 100, 150],
        ['api-calls', 80, 120],
        ['floating-calls', 80, 80],
        ['floating-calls', 100, 100],
      ].sort(),
    );
  });
});
