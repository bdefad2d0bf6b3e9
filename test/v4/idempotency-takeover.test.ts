import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MongoNetworkError } from 'mongodb';
import { IdempotencyRepository } from '../../server/db/idempotency-repository.js';
import { LicenseMetersRepository } from '../../server/db/license-meters.js';
import { ManualClock } from '../support/clock.js';
import { requestFingerprint } from '../../server/domain/idempotency.js';
import type { TestServer } from '../support/server.js';
import { licenseFor, startLicenseApiServer } from './fixtures.js';
import type { V4Client } from './signed-fetch.js';

/**
 * A request whose process died after its counter write (before it stored its response) is retried
 * with its Idempotency-Key once its claim's lock has lapsed. Whether it was applied is read from its
 * ledger entry (in the license's outbox, or already in the ledger; the license keeps no list of
 * keys): the retry answers 200 with the meter as that change left it, and the
 * counter does not move.
 */
describe('License API v4: a retry that takes over a crashed request counts once', () => {
  let t: TestServer;
  let client: V4Client;
  const clock = new ManualClock(new Date('2026-03-10T10:00:00Z'));

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ clock, env: { IDEMPOTENCY_LOCK_MS: '30000', OUTBOX_REPAIR_INTERVAL_MS: '0' } }));
  });
  afterAll(async () => t?.stop());
  afterEach(() => vi.restoreAllMocks());

  /** What the crashed server did: claimed the key and made the change, then died (no response stored). */
  async function crashedAttempt(licenseId: number, key: string, body: object, hardwareId: string) {
    const now = clock.now();
    const repo = new IdempotencyRepository(t.server.db.models);
    const claim = await repo.claim(t.account.id, key, requestFingerprint('POST /api/v4/add_feature_consumption', body), now, new Date(now.getTime() + 30_000), new Date(now.getTime() + 86_400_000));
    expect(claim.claimed).toBe(true);
    const result = await t.services.consumption.consume({
      accountId: t.account.id,
      license: { licenseId },
      target: { scope: 'feature', code: 'api-calls' },
      amount: (body as { consumptions: number }).consumptions,
      seat: { hardwareId },
      negatives: 'policy',
      event: 'consumption_add',
      idempotencyKey: key,
    });
    return result.meter.total;
  }

  const featureTotal = async (licenseId: number) => (await t.services.licenses.getLicense(t.account.id, licenseId)).features.find((f) => f.code === 'api-calls')!.total;

  for (const where of ['the ledger', 'the outbox (the crash came before the move)'] as const) {
    it(`finds the change in ${where} and answers its original result`, async () => {
      const { license, ids } = await licenseFor(t);
      const body = { ...ids, feature: 'api-calls', consumptions: 3 };
      const inOutbox = where !== 'the ledger';
      const crashedKey = `key-crashed-${license.id}`;
      // In the outbox case no move succeeds until the retry has answered (the ledger is away).
      if (inOutbox) vi.spyOn(t.services.ledger, 'insertMoves').mockRejectedValue(new Error('crashed before the move'));
      expect(await crashedAttempt(license.id, crashedKey, body, ids.hardware_id)).toBe(3);
      // Another client's consumption meanwhile: the retry must still say what its own change left (3).
      const other = await client.post('add_feature_consumption', { ...ids, feature: 'api-calls', consumptions: 2 }, { headers: { 'Idempotency-Key': `key-other-${license.id}` } });
      expect(other.body.total_consumptions).toBe(5);
      const pending = await t.server.db.models.License.collection.findOne({ _id: license.id } as never, { projection: { outbox: 1 } });
      expect(((pending as { outbox?: unknown[] } | null)?.outbox ?? []).length).toBe(inOutbox ? 2 : 0);

      // Within the lock the claim is still the crashed request's: the retry is told to come back.
      clock.advance(31_000);
      const retry = await client.post('add_feature_consumption', body, { headers: { 'Idempotency-Key': crashedKey } });
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body).toMatchObject({ total_consumptions: 3, max_consumptions: 100 });
      expect(await featureTotal(license.id)).toBe(5);
      // The retry's answer is now stored: a second retry gets the same bytes.
      const again = await client.post('add_feature_consumption', body, { headers: { 'Idempotency-Key': crashedKey } });
      expect(again.text).toBe(retry.text);
      expect(await featureTotal(license.id)).toBe(5);
      vi.restoreAllMocks();
      if (inOutbox) await t.server.repair.runOnce();
      const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
      expect(ledger.map((e) => [e.idempotencyKey, e.amount, e.totalAfter])).toEqual([
        [crashedKey, 3, 3],
        [`key-other-${license.id}`, 2, 5],
      ]);
      // The same key with another body is still refused.
      const reused = await client.post('add_feature_consumption', { ...body, consumptions: 4 }, { headers: { 'Idempotency-Key': crashedKey } });
      expect(reused.status).toBe(409);
      expect(reused.body).toMatchObject({ code: 'idempotency_key_reused' });
    });
  }

  it('applies the change when the crashed request died before making it', async () => {
    const { license, ids } = await licenseFor(t);
    const body = { ...ids, feature: 'api-calls', consumptions: 4 };
    const now = clock.now();
    const repo = new IdempotencyRepository(t.server.db.models);
    await repo.claim(t.account.id, 'key-never-applied', requestFingerprint('POST /api/v4/add_feature_consumption', body), now, new Date(now.getTime() + 30_000), new Date(now.getTime() + 86_400_000));
    clock.advance(31_000);
    const retry = await client.post('add_feature_consumption', body, { headers: { 'Idempotency-Key': 'key-never-applied' } });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.body.total_consumptions).toBe(4);
    expect(await featureTotal(license.id)).toBe(4);
  });
});

/**
 * The fence of a claim: every counter write made under an Idempotency-Key carries a deadline on the
 * database's clock that ends before the claim's lock, so once a retry may take the claim over, no
 * write of the earlier attempt can still land; and a request that failed after its write may have
 * landed keeps its claim until then, so its retry finds that write instead of counting again.
 */
describe('License API v4: writes under an Idempotency-Key are fenced by a deadline', () => {
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer({ env: { IDEMPOTENCY_LOCK_MS: '4000', OUTBOX_REPAIR_INTERVAL_MS: '0' } }));
  });
  afterAll(async () => t?.stop());
  afterEach(() => vi.restoreAllMocks());

  const featureTotal = async (licenseId: number) => (await t.services.licenses.getLicense(t.account.id, licenseId)).features.find((f) => f.code === 'api-calls')!.total;

  it('refuses a write that reaches the database after its deadline, and counts nothing', async () => {
    const { license, ids } = await licenseFor(t);
    const consume = (deadline: Date) =>
      t.services.consumption.consume({
        accountId: t.account.id,
        license: { licenseId: license.id },
        target: { scope: 'feature', code: 'api-calls' },
        amount: 3,
        seat: { hardwareId: ids.hardware_id },
        negatives: 'policy',
        event: 'consumption_add',
        idempotencyKey: 'late-writer',
        writeDeadline: () => deadline,
      });
    await expect(consume(new Date(Date.now() - 1))).rejects.toMatchObject({ code: 'concurrent_modification' });
    expect(await featureTotal(license.id)).toBe(0);
    expect((await consume(new Date(Date.now() + 5_000))).meter.total).toBe(3);
  });

  it('a database error after the write keeps the claim until its deadline has passed; the retry answers that write, counted once', async () => {
    const { license, ids } = await licenseFor(t);
    const body = { ...ids, feature: 'api-calls', consumptions: 3 };
    // The write lands, then the connection fails before its answer arrives.
    const apply = LicenseMetersRepository.prototype.apply;
    vi.spyOn(LicenseMetersRepository.prototype, 'apply').mockImplementationOnce(async function (this: LicenseMetersRepository, change) {
      await apply.call(this, change);
      throw new MongoNetworkError('connection reset after the write');
    });
    const first = await client.post('add_feature_consumption', body, { headers: { 'Idempotency-Key': 'in-doubt' } });
    expect(first.status).toBe(503);
    expect(await featureTotal(license.id)).toBe(3);
    const started = Date.now();
    const retry = await client.post('add_feature_consumption', body, { headers: { 'Idempotency-Key': 'in-doubt' } });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.total_consumptions).toBe(3);
    // It waited for the claim (held until the write's deadline passed: lock 4 s, so within about 2.5 s).
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await featureTotal(license.id)).toBe(3);
  });
});
