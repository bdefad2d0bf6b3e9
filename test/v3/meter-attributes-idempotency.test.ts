import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyRepository } from '../../server/db/idempotency-repository.js';
import { ManualClock } from '../support/clock.js';
import { requestFingerprint } from '../../server/domain/idempotency.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { activate, seedV3License, seedV3Product } from './support.js';

/** POST /v3/activations/meter-attributes/{id} with an Idempotency-Key: each key counts once, whatever happens. */
describe('Web API v3: meter attribute increments with an Idempotency-Key', () => {
  let t: TestServer;
  let productId: number;
  const clock = new ManualClock(new Date('2026-03-10T10:00:00Z'));

  beforeAll(async () => {
    t = await startTestServer({ clock, env: { IDEMPOTENCY_LOCK_MS: '30000' } });
    ({ productId } = await seedV3Product(t.services, t.account.id));
  });
  afterAll(async () => t?.stop());

  async function increment(activationId: string, amount: number, key?: string, attribute = 'api-calls') {
    const res = await fetch(`${t.baseUrl}/v3/activations/meter-attributes/${attribute}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(key !== undefined ? { 'Idempotency-Key': key } : {}) },
      body: JSON.stringify({ increment: amount, activationId, accountId: '' }),
    });
    const text = await res.text();
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), text, body: JSON.parse(text) };
  }
  const stored = async (licenseId: number) => (await t.services.licenses.getLicense(t.account.id, licenseId)).features.find((f) => f.code === 'api-calls')!;

  it('a retried key is counted once and answers the original response; another body with the key is 409 IDEMPOTENCY_KEY_REUSED', async () => {
    const license = await seedV3License(t.services, t.account.id, productId);
    const aid = await activate(t, license);
    const first = await increment(aid, 7, 'k-1');
    expect(first).toMatchObject({ status: 200, replayed: null, body: { name: 'api-calls', uses: 7, licenseTotalUses: 7 } });
    await increment(aid, 1);
    const retry = await increment(aid, 7, 'k-1');
    expect(retry.status).toBe(200);
    expect(retry.replayed).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(await stored(license.id)).toMatchObject({ total: 8 });
    const reused = await increment(aid, 8, 'k-1');
    expect(reused).toEqual({ status: 409, replayed: null, text: expect.any(String), body: { code: 'IDEMPOTENCY_KEY_REUSED', message: expect.any(String) } });
    const bad = await increment(aid, 1, 'has space');
    expect(bad).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await stored(license.id)).toMatchObject({ total: 8 });
    expect((await t.services.ledger.entriesFor(t.account.id, license.id)).map((e) => [e.amount, e.idempotencyKey])).toEqual([
      [7, 'k-1'],
      [1, null],
    ]);
  });

  it('at a limit of 150: 240 keys, each sent three times at once, count exactly 150 keys once each', async () => {
    const license = await seedV3License(t.services, t.account.id, productId);
    const activations = [await activate(t, license), await activate(t, license)];
    const keys = Array.from({ length: 240 }, (_, i) => `burst-${license.id}-${i}`);
    const results = await Promise.all(keys.flatMap((key, i) => [0, 1, 2].map(async () => ({ key, res: await increment(activations[i % 2]!, 1, key) }))));
    const byKey = new Map<string, Array<(typeof results)[number]['res']>>();
    for (const { key, res } of results) byKey.set(key, [...(byKey.get(key) ?? []), res]);
    const counted = [...byKey.entries()].filter(([, answers]) => answers.some((a) => a.status === 200));
    expect(counted).toHaveLength(150);
    for (const [, answers] of counted) {
      // Every attempt of a counted key answered 200 with the same body; exactly one was not a replay.
      expect(answers.every((a) => a.status === 200 && a.text === answers[0]!.text)).toBe(true);
      expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
    }
    for (const [, answers] of byKey) if (!answers.some((a) => a.status === 200)) expect(answers.every((a) => a.body.code === 'METER_ATTRIBUTE_USES_LIMIT_REACHED')).toBe(true);
    expect(await stored(license.id)).toMatchObject({ total: 150, gross: 150 });
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(ledger).toHaveLength(150);
    expect(new Set(ledger.map((e) => e.idempotencyKey)).size).toBe(150);
  });

  it('a retry after the crash of a request that was counted answers 200 replayed and counts nothing', async () => {
    const license = await seedV3License(t.services, t.account.id, productId);
    const aid = await activate(t, license);
    const key = `crashed-${license.id}`;
    const body = { activationId: aid, increment: 5, productId: '', accountId: '' };
    // What the crashed server did: claimed the key, counted, and died before storing its answer.
    const now = clock.now();
    await new IdempotencyRepository(t.server.db.models).claim(t.account.id, key, requestFingerprint('POST /v3/activations/meter-attributes/api-calls', body), now, new Date(now.getTime() + 30_000), new Date(now.getTime() + 86_400_000));
    await t.services.consumption.consume({
      accountId: t.account.id,
      license: { licenseId: license.id },
      target: { scope: 'feature', code: 'api-calls' },
      seat: { activationId: aid },
      trackDeviceUses: true,
      amount: 5,
      negatives: 'floor-only',
      event: 'meter_increment',
      idempotencyKey: key,
    });
    // (Within the crashed request's lock a retry waits, then answers 409 CONFLICT; once it lapsed:)
    clock.advance(31_000);
    const retry = await increment(aid, 5, key);
    expect(retry).toMatchObject({ status: 200, replayed: 'true', body: { licenseTotalUses: 5, uses: 5 } });
    expect(await stored(license.id)).toMatchObject({ total: 5 });
  });
});
