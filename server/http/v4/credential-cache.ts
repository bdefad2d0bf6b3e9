import { hashSecret } from '../../domain/secrets.js';
import type { Account } from '../../domain/types.js';

/** How long a License API key's lookup (account + decrypted shared key) is reused. */
export const CREDENTIAL_CACHE_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

export interface LicenseApiCredential {
  account: Account;
  sharedKey: string;
}

/**
 * A short-lived, in-process cache of License API key lookups: every signed request would otherwise
 * read the account document and decrypt the shared key. Keyed by the key's SHA-256 (never the key
 * itself); only successful lookups are cached, so an unknown key is always looked up. A key removed
 * from the account keeps working here for at most the TTL.
 */
export class CredentialCache {
  private readonly entries = new Map<string, { value: LicenseApiCredential; expiresAt: number }>();

  constructor(
    private readonly lookup: (apiKey: string) => Promise<LicenseApiCredential>,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = CREDENTIAL_CACHE_TTL_MS,
  ) {}

  async get(apiKey: string): Promise<LicenseApiCredential> {
    const id = hashSecret(apiKey);
    const hit = this.entries.get(id);
    const now = this.now();
    if (hit && hit.expiresAt > now) return hit.value;
    const value = await this.lookup(apiKey);
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(id, { value, expiresAt: now + this.ttlMs });
    return value;
  }
}
