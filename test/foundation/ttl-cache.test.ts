import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../server/domain/ttl-cache.js';

describe('TtlCache', () => {
  it('serves an entry until its TTL has passed since it was stored', () => {
    let now = 0;
    const cache = new TtlCache<string, number>({ maxEntries: 10, ttlMs: 100, now: () => now });
    cache.set('a', 1);
    now = 99;
    expect(cache.get('a')).toBe(1);
    now = 100;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set('a', 2);
    now = 150;
    expect(cache.get('a')).toBe(2);
  });

  it('keeps at most maxEntries, dropping the least recently used first', () => {
    const cache = new TtlCache<string, number>({ maxEntries: 2, ttlMs: 1_000, now: () => 0 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // b is now the least recently used
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    cache.set('a', 4); // storing again refreshes, without growing
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBe(4);
  });

  it('forgets an entry on delete', () => {
    const cache = new TtlCache<string, number>({ maxEntries: 2, ttlMs: 1_000 });
    cache.set('a', 1);
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
  });

  it('getOrLoad loads on a miss, stores the value, and stores nothing when the load fails', async () => {
    const cache = new TtlCache<string, number>({ maxEntries: 2, ttlMs: 1_000, now: () => 0 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      return 7;
    };
    expect(await cache.getOrLoad('a', load)).toBe(7);
    expect(await cache.getOrLoad('a', load)).toBe(7);
    expect(loads).toBe(1);
    await expect(cache.getOrLoad('b', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(cache.get('b')).toBeUndefined();
  });

  it('getOrLoad shares one load between concurrent misses of a key, and a failed load with all of them', async () => {
    const cache = new TtlCache<string, number>({ maxEntries: 10, ttlMs: 1_000, now: () => 0 });
    let loads = 0;
    let finish!: (v: number) => void;
    const load = () => {
      loads += 1;
      return new Promise<number>((resolve) => (finish = resolve));
    };
    const waiting = Array.from({ length: 32 }, () => cache.getOrLoad('a', load));
    expect(loads).toBe(1);
    finish(5);
    expect(await Promise.all(waiting)).toEqual(Array(32).fill(5));
    expect(cache.get('a')).toBe(5);

    let fail!: (e: Error) => void;
    const failing = Array.from({ length: 3 }, () => cache.getOrLoad('b', () => new Promise<number>((_, reject) => ((loads += 1), (fail = reject)))));
    fail(new Error('down'));
    for (const p of failing) await expect(p).rejects.toThrow('down');
    expect(loads).toBe(2);
    expect(await cache.getOrLoad('b', async () => ((loads += 1), 8))).toBe(8); // the next miss loads again
    expect(loads).toBe(3);
  });

  it('getOrLoad does not store what a load overtaken by delete or set returns', async () => {
    const cache = new TtlCache<string, number>({ maxEntries: 10, ttlMs: 1_000, now: () => 0 });
    let finish!: (v: number) => void;
    const stale = cache.getOrLoad('a', () => new Promise<number>((resolve) => (finish = resolve)));
    cache.delete('a'); // e.g. the license changed while it was being read
    const fresh = cache.getOrLoad('a', async () => 2); // a miss after the change loads anew
    finish(1);
    expect(await stale).toBe(1);
    expect(await fresh).toBe(2);
    expect(cache.get('a')).toBe(2);

    const overtaken = cache.getOrLoad('c', () => new Promise<number>((resolve) => (finish = resolve)));
    cache.set('c', 3);
    finish(4);
    expect(await overtaken).toBe(4);
    expect(cache.get('c')).toBe(3);
  });

  it('refuses limits that could never hold an entry', () => {
    expect(() => new TtlCache({ maxEntries: 0, ttlMs: 1 })).toThrow();
    expect(() => new TtlCache({ maxEntries: 1, ttlMs: 0 })).toThrow();
  });
});
