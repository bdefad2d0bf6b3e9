import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import { errorCodeOf } from './license-arbitraries.js';
import { seedAccountWithProduct, startTestDomain, type TestDomain } from '../support/domain.js';

describe('consumption (domain)', () => {
  let t: TestDomain;
  const clock = new ManualClock(new Date('2026-03-10T10:00:00Z'));

  beforeAll(async () => {
    t = await startTestDomain({ clock });
  });
  afterAll(async () => t?.stop());

  async function licensed(settings: Parameters<TestDomain['services']['licenses']['createLicense']>[1]['features'], extra: object = {}) {
    const { account, product } = await seedAccountWithProduct(t.services);
    const license = await t.services.licenses.createLicense(account.id, {
      productId: product.id,
      type: 'consumption',
      maxActivations: 5,
      features: settings,
      consumption: { max: 10 },
      ...extra,
    });
    await t.services.devices.activate(account.id, { license: { licenseId: license.id }, hardwareId: 'hw-1' });
    return { account, product, license };
  }

  const codeOf = errorCodeOf;

  it('never exceeds a feature limit under 600 parallel consumptions, and the ledger agrees', async () => {
    const { account, license } = await licensed([{ code: 'api-calls', max: 250 }]);
    const results = await Promise.all(
      Array.from({ length: 600 }, () =>
        codeOf(
          t.services.consumption.consume({
            accountId: account.id,
            license: { productCode: license.productCode, key: license.key! },
            target: { scope: 'feature', code: 'api-calls' },
            seat: { hardwareId: 'hw-1' },
            amount: 1,
            negatives: 'policy',
            event: 'consumption_add',
          }),
        ),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(250);
    expect(results.filter((r) => r === 'consumption_limit_reached')).toHaveLength(350);
    const stored = await t.services.licenses.getLicense(account.id, license.id);
    expect(stored.features.find((f) => f.code === 'api-calls')!.total).toBe(250);
    const ledger = await t.services.ledger.entriesFor(account.id, license.id);
    expect(ledger).toHaveLength(250);
    expect(ledger.reduce((sum, e) => sum + e.amount, 0)).toBe(250);
  });

  it('resets a daily meter lazily at midnight UTC', async () => {
    const { account, license } = await licensed([{ code: 'api-calls', max: 3, reset: true, period: 'daily' }]);
    const consume = () =>
      t.services.consumption.consume({
        accountId: account.id,
        license: { licenseId: license.id },
        target: { scope: 'feature', code: 'api-calls' },
        seat: { hardwareId: 'hw-1' },
        amount: 3,
        negatives: 'policy',
        event: 'consumption_add',
      });
    expect((await consume()).meter.total).toBe(3);
    expect(await codeOf(consume())).toBe('consumption_limit_reached');
    clock.set('2026-03-11T00:00:00Z');
    const after = await consume();
    expect(after.meter.total).toBe(3);
    expect(after.meter.gross).toBe(6);
    expect(after.meter.resetAt).toEqual(new Date('2026-03-12T00:00:00Z'));
    clock.set('2026-03-10T10:00:00Z');
  });

  it('refuses negatives unless allowed, and never goes below 0', async () => {
    const { account, license } = await licensed([{ code: 'api-calls', max: 10 }], { consumption: { max: 10, allowNegative: true } });
    const consume = (amount: number) =>
      t.services.consumption.consume({
        accountId: account.id,
        license: { licenseId: license.id },
        target: { scope: 'license' },
        requireConsumptionLicense: true,
        seat: { hardwareId: 'hw-1' },
        amount,
        negatives: 'policy',
        event: 'consumption_add',
      });
    expect((await consume(4)).meter.total).toBe(4);
    expect((await consume(-3)).meter.total).toBe(1);
    expect(await codeOf(consume(-2))).toBe('consumption_below_zero');
    const feature = t.services.consumption.consume({
      accountId: account.id,
      license: { licenseId: license.id },
      target: { scope: 'feature', code: 'api-calls' },
      seat: { hardwareId: 'hw-1' },
      amount: -1,
      negatives: 'policy',
      event: 'consumption_add',
    });
    expect(await codeOf(feature)).toBe('negative_consumption_not_allowed');
  });

  it('counts an idempotency key once: 50 concurrent runs under one key, through the idempotency service', async () => {
    const { account, license } = await licensed([{ code: 'api-calls', max: 100 }]);
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        t.services.idempotency.run(account.id, 'retry-1', 'same-request', async (attempt) => {
          const r = await t.services.consumption.consume({
            accountId: account.id,
            license: { licenseId: license.id },
            target: { scope: 'feature', code: 'api-calls' },
            seat: { hardwareId: 'hw-1' },
            amount: 2,
            negatives: 'policy',
            event: 'consumption_add',
            idempotencyKey: 'retry-1',
            idempotencyResumedSince: attempt.resumedSince,
            writeDeadline: attempt.writeDeadline,
          });
          return { status: 200, body: JSON.stringify({ total: r.meter.total }), replayed: r.replayed };
        }),
      ),
    );
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.body))).toEqual(new Set(['{"total":2}']));
    expect((await t.services.licenses.getLicense(account.id, license.id)).features[0]!.total).toBe(2);
  });

  it('rejects devices without a seat and unknown products', async () => {
    const { account, license } = await licensed([{ code: 'api-calls', max: 100 }]);
    const base = { accountId: account.id, target: { scope: 'feature', code: 'api-calls' } as const, amount: 1, negatives: 'policy' as const, event: 'consumption_add' as const };
    expect(await codeOf(t.services.consumption.consume({ ...base, license: { licenseId: license.id }, seat: { hardwareId: 'nope' } }))).toBe('device_not_found');
    expect(await codeOf(t.services.consumption.consume({ ...base, license: { productCode: 'missing', key: 'X' }, seat: { hardwareId: 'hw-1' } }))).toBe('product_not_found');
    expect(await codeOf(t.services.consumption.consume({ ...base, license: { productCode: license.productCode, key: 'X' }, seat: { hardwareId: 'hw-1' } }))).toBe('license_not_found');
    expect(await codeOf(t.services.consumption.consume({ ...base, target: { scope: 'feature', code: 'nope' }, license: { licenseId: license.id }, seat: { hardwareId: 'hw-1' } }))).toBe('feature_not_on_license');
  });

  it('holds max_activations under 50 parallel activations', async () => {
    const { account, product } = await seedAccountWithProduct(t.services);
    const license = await t.services.licenses.createLicense(account.id, { productId: product.id, type: 'perpetual', maxActivations: 7 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => codeOf(t.services.devices.activate(account.id, { license: { licenseId: license.id }, hardwareId: `hw-${i}` }))),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(7);
    expect(results.filter((r) => r === 'activation_limit_reached')).toHaveLength(43);
    const stored = await t.services.licenses.getLicense(account.id, license.id);
    expect(await t.services.devices.listActivations(account.id, { licenseId: license.id }, 0, 100)).toHaveLength(7);
    expect(stored.timesActivated).toBe(7);
  });
});
