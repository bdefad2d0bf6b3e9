import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyRepository } from '../../server/db/idempotency-repository.js';
import { ManualClock } from '../support/clock.js';
import { DomainError } from '../../server/domain/errors.js';
import { IdempotencyService, requestFingerprint } from '../../server/domain/idempotency.js';
import { startTestDomain, type TestDomain } from '../support/domain.js';

/** Two IdempotencyService instances on one database stand for two server processes. */
describe('idempotency store across processes', () => {
  let t: TestDomain;
  const clock = new ManualClock(new Date('2026-03-10T10:00:00Z'));
  let a: IdempotencyService;
  let b: IdempotencyService;

  beforeAll(async () => {
    t = await startTestDomain({ clock });
    const repo = () => new IdempotencyRepository(t.db.models);
    a = new IdempotencyService(repo(), clock, { lockMs: 30_000, pollMs: 5 });
    b = new IdempotencyService(repo(), clock, { lockMs: 30_000, pollMs: 5 });
  });
  afterAll(async () => t?.stop());

  const fp = requestFingerprint('POST /x', { n: 1 });

  it('fingerprints ignore key order but not values', () => {
    expect(requestFingerprint('POST /x', { a: 1, b: [1, { c: 2, d: 3 }] })).toBe(requestFingerprint('POST /x', { b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(requestFingerprint('POST /x', { a: 1 })).not.toBe(requestFingerprint('POST /x', { a: 2 }));
    expect(requestFingerprint('POST /x', { a: 1 })).not.toBe(requestFingerprint('POST /y', { a: 1 }));
  });

  it('a retry in another process waits for the running request and gets its response; it runs once', async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = a.run(1, 'k1', fp, async () => {
      runs += 1;
      await gate;
      return { status: 200, body: '{"n":1}' };
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = b.run(1, 'k1', fp, async () => {
      runs += 1;
      return { status: 200, body: '{"n":2}' };
    });
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect(await first).toEqual({ status: 200, body: '{"n":1}', replayed: false });
    expect(await second).toEqual({ status: 200, body: '{"n":1}', replayed: true });
    expect(runs).toBe(1);
    await expect(b.run(1, 'k1', requestFingerprint('POST /x', { n: 2 }), async () => ({ status: 200, body: '{}' }))).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    // Keys are per account.
    expect((await b.run(2, 'k1', requestFingerprint('POST /x', { n: 2 }), async () => ({ status: 200, body: '{"other":true}' }))).replayed).toBe(false);
  });

  it('a failed request frees the key; a claim whose holder crashed is taken over after the lock lapses', async () => {
    await expect(a.run(1, 'k2', fp, async () => Promise.reject(new DomainError('consumption_limit_reached', 'no')))).rejects.toMatchObject({ code: 'consumption_limit_reached' });
    expect(await a.run(1, 'k2', fp, async () => ({ status: 200, body: '"ok"' }))).toEqual({ status: 200, body: '"ok"', replayed: false });

    const repo = new IdempotencyRepository(t.db.models);
    const now = clock.now();
    expect(await repo.claim(1, 'k3', fp, now, new Date(now.getTime() + 30_000), new Date(now.getTime() + 86_400_000))).toEqual({ claimed: true });
    clock.advance(31_000);
    expect(await b.run(1, 'k3', fp, async () => ({ status: 200, body: '"took over"' }))).toEqual({ status: 200, body: '"took over"', replayed: false });

    // After 24 hours the key is free again.
    clock.advance(86_400_000);
    expect(await a.run(1, 'k1', requestFingerprint('POST /x', { n: 9 }), async () => ({ status: 200, body: '"fresh"' }))).toMatchObject({ replayed: false });
  });
});
