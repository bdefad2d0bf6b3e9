import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MongoNetworkError } from 'mongodb';
import { ActivationSeatsRepository } from '../../server/db/activation-seats.js';
import type { TestServer } from '../support/server.js';
import { expectError, licenseFor, startLicenseApiServer } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

/**
 * `deactivate_license` with `consumptions` (the vendor documents the optional field): the consumption
 * is counted first, by add_consumption's rules (limits, overages, negatives, consumption licenses
 * only, a ledger entry, one guarded update), and only then is the seat freed; a refused consumption
 * frees no seat. An Idempotency-Key makes a retried deactivation count once.
 */
describe('License API v4: deactivate_license with consumptions', () => {
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ env: { IDEMPOTENCY_LOCK_MS: '4000', OUTBOX_REPAIR_INTERVAL_MS: '0' } }));
  });
  afterAll(async () => t?.stop());
  afterEach(() => vi.restoreAllMocks());

  const stored = (licenseId: number) => t.services.licenses.getLicense(t.account.id, licenseId);
  const ledger = async (licenseId: number) => (await t.services.ledger.entriesFor(t.account.id, licenseId)).map((e) => [e.scope, e.amount, e.totalAfter, e.event]);
  const activeDevices = async (licenseId: number) =>
    (await t.services.devices.listDevices(t.account.id, { licenseId }, 0, 100)).items
      .filter((d) => d.active)
      .map((d) => d.hardwareId)
      .sort();

  it('counts the consumption exactly (counter and ledger entry), then frees the seat', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10 } }, ['hw-1', 'hw-2']);
    const res = await client.post('deactivate_license', { ...ids, consumptions: 3 });
    expect(res.status).toBe(200);
    expect(res.body).toBe('license_deactivated');
    const after = await stored(license.id);
    expect(after.consumption.total).toBe(3);
    expect(after.timesActivated).toBe(1);
    expect(await activeDevices(license.id)).toEqual(['hw-2']);
    expect(await ledger(license.id)).toEqual([['license', 3, 3, 'consumption_add']]);
    // Absent or 0: no consumption at all (nor on a license that is not of consumption type).
    expect((await client.post('deactivate_license', { ...ids, hardware_id: 'hw-2', consumptions: 0 })).body).toBe('license_deactivated');
    expect((await stored(license.id)).consumption.total).toBe(3);
    expect(await ledger(license.id)).toHaveLength(1);
  });

  it('a consumption over the limit answers license_not_enough_consumptions and keeps the seat and the counter', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 5, total: 4 } });
    expectError(await client.post('deactivate_license', { ...ids, consumptions: 2 }), 'license_not_enough_consumptions');
    const after = await stored(license.id);
    expect(after.consumption.total).toBe(4);
    expect(after.timesActivated).toBe(1);
    expect(await activeDevices(license.id)).toEqual(['hw-1']);
    expect(await ledger(license.id)).toEqual([]);
    // The device still holds its seat: it checks in, and the exact remaining consumption deactivates it.
    expect((await client.get('check_license', ids)).status).toBe(200);
    expect((await client.post('deactivate_license', { ...ids, consumptions: 1 })).body).toBe('license_deactivated');
    expect((await stored(license.id)).consumption.total).toBe(5);
    expect(await activeDevices(license.id)).toEqual([]);
  });

  it('follows add_consumption’s overage and negative rules', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 5, allowOverages: true, maxOverages: 2 } }, ['hw-1', 'hw-2', 'hw-3']);
    expectError(await client.post('deactivate_license', { ...ids, consumptions: -1 }), 'negative_consumptions_not_allowed');
    expectError(await client.post('deactivate_license', { ...ids, consumptions: 8 }), 'license_not_enough_consumptions');
    expect(await activeDevices(license.id)).toEqual(['hw-1', 'hw-2', 'hw-3']);
    expect((await client.post('deactivate_license', { ...ids, consumptions: 7 })).body).toBe('license_deactivated');
    expect((await stored(license.id)).consumption.total).toBe(7);

    const negative = await licenseFor(t, { consumption: { max: 5, allowNegative: true, total: 2 } }, ['hw-1', 'hw-2']);
    expectError(await client.post('deactivate_license', { ...negative.ids, consumptions: -3 }), 'negative_consumptions_not_allowed');
    expect(await activeDevices(negative.license.id)).toEqual(['hw-1', 'hw-2']);
    expect((await client.post('deactivate_license', { ...negative.ids, consumptions: -2 })).body).toBe('license_deactivated');
    expect((await stored(negative.license.id)).consumption.total).toBe(0);
    expect(await activeDevices(negative.license.id)).toEqual(['hw-2']);
  });

  it('license_not_consumption on a license that is not of consumption type; the device stays active', async () => {
    const { license, ids } = await licenseFor(t, { type: 'perpetual' });
    expectError(await client.post('deactivate_license', { ...ids, consumptions: 1 }), 'license_not_consumption');
    expect(await activeDevices(license.id)).toEqual(['hw-1']);
    expect((await stored(license.id)).timesActivated).toBe(1);
    expect((await client.post('deactivate_license', ids)).body).toBe('license_deactivated');
  });

  it('refuses consumptions that are not integers within ±1e9 with validation_error, changing nothing', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10 } });
    for (const consumptions of [1.5, '2', 1_000_000_001, -1_000_000_001, null]) {
      const res = await client.post('deactivate_license', { ...ids, consumptions });
      expectError(res, 'validation_error');
      expect(res.body.message).toContain('consumptions');
    }
    // The bounds themselves are valid: they reach the consumption rules.
    expectError(await client.post('deactivate_license', { ...ids, consumptions: 1_000_000_000 }), 'license_not_enough_consumptions');
    expectError(await client.post('deactivate_license', { ...ids, consumptions: -1_000_000_000 }), 'negative_consumptions_not_allowed');
    expect(await activeDevices(license.id)).toEqual(['hw-1']);
    expect((await stored(license.id)).consumption.total).toBe(0);
  });

  it('20 parallel deactivations with one Idempotency-Key, room for one: all answer license_deactivated, counted once', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 5 } });
    const body = { ...ids, consumptions: 3 };
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.post('deactivate_license', body, { headers: { 'Idempotency-Key': `deact-${license.id}` } })));
    expect(answers.map((a) => [a.status, a.body])).toEqual(Array.from({ length: 20 }, () => [200, 'license_deactivated']));
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    const after = await stored(license.id);
    expect(after.consumption.total).toBe(3);
    expect(after.timesActivated).toBe(0);
    expect(await ledger(license.id)).toEqual([['license', 3, 3, 'consumption_add']]);
    // The key with another body is refused.
    const reused = await client.post('deactivate_license', { ...body, consumptions: 1 }, { headers: { 'Idempotency-Key': `deact-${license.id}` } });
    expectError(reused, 'idempotency_key_reused', 409);
  });

  it('parallel deactivations of different devices near the limit: exactly the room is accepted, the others keep their seats', async () => {
    const hardwareIds = Array.from({ length: 8 }, (_, i) => `hw-${i}`);
    const { license, ids } = await licenseFor(t, { maxActivations: 10, consumption: { max: 5, total: 2 } }, hardwareIds);
    const answers = await Promise.all(hardwareIds.map((hardware_id) => client.post('deactivate_license', { ...ids, hardware_id, consumptions: 1 })));
    const accepted = hardwareIds.filter((_, i) => answers[i]!.status === 200);
    expect(accepted).toHaveLength(3);
    for (const answer of answers.filter((a) => a.status !== 200)) expectError(answer, 'license_not_enough_consumptions');
    const after = await stored(license.id);
    expect(after.consumption.total).toBe(5);
    expect(after.timesActivated).toBe(5);
    expect(await activeDevices(license.id)).toEqual(hardwareIds.filter((h) => !accepted.includes(h)).sort());
    expect((await ledger(license.id)).map((e) => e[2])).toEqual([3, 4, 5]);
  });

  for (const when of ['before the seat is freed', 'after the seat was freed'] as const) {
    it(`a database error ${when} (the consumption counted): the retry with the key answers license_deactivated and counts nothing more`, async () => {
      const { license, ids } = await licenseFor(t, { consumption: { max: 10 } });
      const body = { ...ids, consumptions: 4 };
      const release = ActivationSeatsRepository.prototype.release;
      vi.spyOn(ActivationSeatsRepository.prototype, 'release').mockImplementationOnce(async function (this: ActivationSeatsRepository, ...args) {
        if (when === 'after the seat was freed') await release.apply(this, args);
        throw new MongoNetworkError('connection reset');
      });
      const key = `deact-doubt-${license.id}`;
      const first = await client.post('deactivate_license', body, { headers: { 'Idempotency-Key': key } });
      expect(first.status).toBe(503);
      expect((await stored(license.id)).consumption.total).toBe(4);
      const retry = await client.post('deactivate_license', body, { headers: { 'Idempotency-Key': key } });
      expect(retry.status).toBe(200);
      expect(retry.body).toBe('license_deactivated');
      const after = await stored(license.id);
      expect(after.consumption.total).toBe(4);
      expect(after.timesActivated).toBe(0);
      expect(await activeDevices(license.id)).toEqual([]);
      expect(await ledger(license.id)).toEqual([['license', 4, 4, 'consumption_add']]);
      // Stored now: another retry replays it.
      const again = await client.post('deactivate_license', body, { headers: { 'Idempotency-Key': key } });
      expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
      expect((await stored(license.id)).consumption.total).toBe(4);
    });
  }

  it('a retry of a completed deactivation with its key replays it; without a key the device is gone', async () => {
    const { license, ids } = await licenseFor(t, { consumption: { max: 10 } });
    const body = { ...ids, consumptions: 2 };
    const key = `deact-done-${license.id}`;
    expect((await client.post('deactivate_license', body, { headers: { 'Idempotency-Key': key } })).status).toBe(200);
    const replay = await client.post('deactivate_license', body, { headers: { 'Idempotency-Key': key } });
    expect([replay.status, replay.body, replay.headers.get('idempotent-replayed')]).toEqual([200, 'license_deactivated', 'true']);
    expectError(await client.post('deactivate_license', body), 'device_not_found');
    expect((await stored(license.id)).consumption.total).toBe(2);
  });
});
