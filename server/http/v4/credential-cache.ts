import { hashSecret } from '../../domain/secrets.js';
import type { TtlCache } from '../../domain/ttl-cache.js';
import type { Account } from '../../domain/types.js';

export interface LicenseApiCredential {
  account: Account;
  sharedKey: string;
}

/**
 * License API key lookups through `cache`: every signed request would otherwise read the account
 * document and decrypt the shared key. Kept by the key's SHA-256 (never the key itself); only
 * successful lookups are kept, so an unknown key is always looked up. A key removed from the account
 * keeps working for at most the cache's TTL.
 */
export function cachedCredentials(
  lookup: (apiKey: string) => Promise<LicenseApiCredential>,
  cache: TtlCache<string, LicenseApiCredential>,
): (apiKey: string) => Promise<LicenseApiCredential> {
  return (apiKey) => cache.getOrLoad(hashSecret(apiKey), () => lookup(apiKey));
}
