import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../server/domain/ttl-cache.js';
import { cachedCredentials, type LicenseApiCredential } from '../../server/http/v4/credential-cache.js';

const credential = (sharedKey: string): LicenseApiCredential => ({ account: { id: 1, name: 'a', createdAt: new Date(0) }, sharedKey });

describe('cachedCredentials (License API key lookups)', () => {
  it('reuses a successful lookup within the TTL and looks up again after it', async () => {
    let now = 0;
    let lookups = 0;
    let sharedKey = 'first';
    const get = cachedCredentials(
      async () => {
        lookups += 1;
        return credential(sharedKey);
      },
      new TtlCache({ maxEntries: 10, ttlMs: 1_000, now: () => now }),
    );
    expect((await get('key')).sharedKey).toBe('first');
    sharedKey = 'second';
    now = 999;
    expect((await get('key')).sharedKey).toBe('first');
    expect(lookups).toBe(1);
    now = 1_000;
    expect((await get('key')).sharedKey).toBe('second');
    expect(lookups).toBe(2);
  });

  it('never caches a failed lookup, and keeps keys apart', async () => {
    let known = false;
    let lookups = 0;
    const get = cachedCredentials(
      async (apiKey: string) => {
        lookups += 1;
        if (!known) throw new Error('unknown');
        return credential(apiKey);
      },
      new TtlCache({ maxEntries: 10, ttlMs: 10_000, now: () => 0 }),
    );
    await expect(get('key')).rejects.toThrow('unknown');
    known = true;
    expect((await get('key')).sharedKey).toBe('key');
    expect((await get('other')).sharedKey).toBe('other');
    expect(lookups).toBe(3);
  });

  it('keeps the key hashed, never the key itself', async () => {
    const cache = new TtlCache<string, LicenseApiCredential>({ maxEntries: 10, ttlMs: 10_000 });
    await cachedCredentials(async (apiKey: string) => credential(apiKey), cache)('plain-key');
    expect(cache.get('plain-key')).toBeUndefined();
    expect(cache.size).toBe(1);
  });
});
