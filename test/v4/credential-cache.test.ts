import { describe, expect, it } from 'vitest';
import { CredentialCache, type LicenseApiCredential } from '../../server/http/v4/credential-cache.js';

const credential = (sharedKey: string): LicenseApiCredential => ({ account: { id: 1, name: 'a', createdAt: new Date(0) }, sharedKey });

describe('CredentialCache (License API key lookups)', () => {
  it('reuses a successful lookup within the TTL and looks up again after it', async () => {
    let now = 0;
    let lookups = 0;
    let sharedKey = 'first';
    const cache = new CredentialCache(async () => {
      lookups += 1;
      return credential(sharedKey);
    }, () => now, 1_000);
    expect((await cache.get('key')).sharedKey).toBe('first');
    sharedKey = 'second';
    now = 999;
    expect((await cache.get('key')).sharedKey).toBe('first');
    expect(lookups).toBe(1);
    now = 1_000;
    expect((await cache.get('key')).sharedKey).toBe('second');
    expect(lookups).toBe(2);
  });

  it('never caches a failed lookup, and keeps keys apart', async () => {
    let known = false;
    let lookups = 0;
    const cache = new CredentialCache(async (apiKey) => {
      lookups += 1;
      if (!known) throw new Error('unknown');
      return credential(apiKey);
    }, () => 0);
    await expect(cache.get('key')).rejects.toThrow('unknown');
    known = true;
    expect((await cache.get('key')).sharedKey).toBe('key');
    expect((await cache.get('other')).sharedKey).toBe('other');
    expect(lookups).toBe(3);
  });
});
