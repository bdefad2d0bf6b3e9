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

  it('refuses limits that could never hold an entry', () => {
    expect(() => new TtlCache({ maxEntries: 0, ttlMs: 1 })).toThrow();
    expect(() => new TtlCache({ maxEntries: 1, ttlMs: 0 })).toThrow();
  });
});
