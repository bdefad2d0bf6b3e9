import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import { DomainError } from '../../server/domain/errors.js';
import { seedAccountWithProduct, startTestDomain, type TestDomain } from '../support/domain.js';

describe('license administration (domain)', () => {
  let t: TestDomain;
  const clock = new ManualClock(new Date('2026-03-10T10:00:00Z'));

  beforeAll(async () => {
    t = await startTestDomain({ clock });
  });
  afterAll(async () => t?.stop());

  async function licensed() {
    const { account, product } = await seedAccountWithProduct(t.services);
    await t.services.products.addFeature(account.id, product.id, { code: 'reports', name: 'Reports', featureType: 'consumption', maxConsumption: 5 });
    const license = await t.services.licenses.createLicense(account.id, {
      productId: product.id,
      type: 'consumption',
      maxActivations: 5,
      features: [{ code: 'api-calls', max: 1000 }, { code: 'export' }],
      consumption: { max: 10 },
    });
    return { account, product, license };
  }

  const consume = (accountId: number, licenseId: number, code: string, amount = 1) =>
    t.services.consumption.consume({
      accountId,
      license: { licenseId },
      target: { scope: 'feature', code },
      amount,
      negatives: 'policy',
      event: 'consumption_add',
    });

  it('creates, updates and deletes features in one call, keeping the counter of a kept feature', async () => {
    const { account, license } = await licensed();
    await consume(account.id, license.id, 'api-calls', 7);
    const updated = await t.services.licenseAdmin.updateFeatures(account.id, license.id, [
      { code: 'api-calls', max: 50, allowOverages: true, maxOverages: 5, reset: true, period: 'monthly', metadata: { $tier: '$gold' } },
      { code: 'reports', max: 3, total: 2, expiryDate: new Date('2026-12-31T23:59:59.999Z') },
    ]);
    expect(updated.features.map((f) => f.code)).toEqual(['api-calls', 'reports']);
    const calls = updated.features[0]!;
    expect(calls).toMatchObject({ max: 50, total: 7, gross: 7, allowOverages: true, maxOverages: 5, ceiling: 55, reset: true, period: 'monthly', metadata: { $tier: '$gold' } });
    expect(calls.resetAt).toEqual(new Date('2026-04-01T00:00:00Z'));
    expect(calls.id).toBe(license.features.find((f) => f.code === 'api-calls')!.id);
    const reports = updated.features[1]!;
    expect(reports).toMatchObject({ max: 3, total: 2, gross: 2, ceiling: 3, expiryDate: new Date('2026-12-31T23:59:59.999Z'), featureType: 'consumption' });
    const ledger = await t.services.ledger.entriesFor(account.id, license.id);
    expect(ledger.map((e) => [e.event, e.featureCode, e.amount, e.totalAfter])).toEqual([
      ['consumption_add', 'api-calls', 7, 7],
      ['update', 'reports', 2, 2],
    ]);
  });

  it('sets a kept feature total when given, and rejects unknown codes without changing anything', async () => {
    const { account, license } = await licensed();
    await consume(account.id, license.id, 'api-calls', 4);
    const updated = await t.services.licenseAdmin.updateFeatures(account.id, license.id, [{ code: 'api-calls', total: 1 }]);
    expect(updated.features).toHaveLength(1);
    expect(updated.features[0]).toMatchObject({ total: 1, gross: 4, max: 1000 });
    const err = await t.services.licenseAdmin.updateFeatures(account.id, license.id, [{ code: 'nope' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('product_feature_not_found');
    expect((await t.services.licenses.getLicense(account.id, license.id)).features).toHaveLength(1);
  });

  it('loses and double counts nothing when update_features races 300 consumptions on a kept feature', async () => {
    const { account, license } = await licensed();
    let accepted = 0;
    let rejected = 0;
    const consumptions = Array.from({ length: 300 }, () =>
      consume(account.id, license.id, 'api-calls').then(
        () => (accepted += 1),
        (err: unknown) => {
          if (err instanceof DomainError && err.code === 'consumption_limit_reached') rejected += 1;
          else throw err;
        },
      ),
    );
    const updates = (async () => {
      for (let i = 0; i < 20; i += 1) {
        await t.services.licenseAdmin.updateFeatures(account.id, license.id, [{ code: 'api-calls', max: 1000 + i }, { code: 'reports' }]);
      }
    })();
    await Promise.all([...consumptions, updates]);
    expect(accepted + rejected).toBe(300);
    expect(accepted).toBe(300);
    const stored = await t.services.licenses.getLicense(account.id, license.id);
    expect(stored.features.map((f) => f.code)).toEqual(['api-calls', 'reports']);
    expect(stored.features[0]).toMatchObject({ total: accepted, gross: accepted, max: 1019 });
    const ledger = await t.services.ledger.entriesFor(account.id, license.id);
    expect(ledger.filter((e) => e.featureCode === 'api-calls')).toHaveLength(accepted);
  });

  it('resets license-level and feature totals to 0 in one write, with ledger entries', async () => {
    const { account, license } = await licensed();
    await consume(account.id, license.id, 'api-calls', 9);
    await t.services.consumption.consume({ accountId: account.id, license: { licenseId: license.id }, target: { scope: 'license' }, amount: 3, negatives: 'policy', event: 'consumption_add' });
    const reset = await t.services.licenseAdmin.resetConsumption(account.id, license.id, 'req-1');
    expect(reset.consumption.total).toBe(0);
    expect(reset.features.map((f) => f.total)).toEqual([0, 0]);
    const ledger = (await t.services.ledger.entriesFor(account.id, license.id)).filter((e) => e.event === 'reset');
    expect(ledger.map((e) => [e.scope, e.featureCode, e.amount, e.totalAfter, e.requestId]).sort()).toEqual([
      ['feature', 'api-calls', -9, 0, 'req-1'],
      ['license', null, -3, 0, 'req-1'],
    ]);
  });

  it('updates license settings and the license-level meter without touching its total', async () => {
    const { account, license } = await licensed();
    await t.services.consumption.consume({ accountId: account.id, license: { licenseId: license.id }, target: { scope: 'license' }, amount: 4, negatives: 'policy', event: 'consumption_add' });
    const updated = await t.services.licenseAdmin.updateLicense(account.id, license.id, { maxActivations: 9, consumption: { max: 20, allowOverages: true, maxOverages: 2 }, enabled: false });
    expect(updated).toMatchObject({ maxActivations: 9, enabled: false, timeDisabled: clock.now() });
    expect(updated.consumption).toMatchObject({ max: 20, total: 4, ceiling: 22 });
    const err = await t.services.licenseAdmin.updateLicense(account.id, license.id, { consumption: { reset: true } }).catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('invalid_input');
  });
});
