import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { newNumericId, newSecret } from './ids.js';
import { hashSecret, SecretBox, constantTimeEqual } from './secrets.js';
import { newSigningKey, unsealSigningKey, type UnsealedSigningKey } from './signing-keys.js';
import type { Account, CredentialKind } from './types.js';
import type { AccountsPort, StoredCredential } from './ports.js';
import type { TtlCache } from './ttl-cache.js';

/**
 * What an access token allows. The keys are the domain's names; the values are the codes stored with
 * each token (an account's `accessTokens[].scopes`) since the first release, kept as stored so that
 * existing tokens keep their rights without a migration. The Web API v3 names each permission with its
 * own scope string (http/v3/mappers.ts).
 */
export const Permission = {
  readActivations: 'activation:read',
  writeActivations: 'activation:write',
  readLicenses: 'license:read',
  readWebhooks: 'webhook:read',
  writeWebhooks: 'webhook:write',
  readAccount: 'account:read',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

/** Every permission: what a new access token gets. */
export const ALL_PERMISSIONS: readonly Permission[] = Object.values(Permission);

function isPermission(code: string): code is Permission {
  return (ALL_PERMISSIONS as readonly string[]).includes(code);
}

export interface AccountCredentials {
  managementApiKey: string;
  licenseApiKey: string;
  sharedKey: string;
  v3AccessToken: string;
}

/** The secrets of one new credential, shown once: a key or token, or for `license-api` the key and its shared key. */
export type NewCredentialSecrets =
  | { kind: 'management'; managementApiKey: string }
  | { kind: 'license-api'; licenseApiKey: string; sharedKey: string }
  | { kind: 'v3-token'; v3AccessToken: string };

/**
 * What may be shown of a stored credential: its kind, when it was made, and its fingerprint, the
 * first 12 hex digits of the SHA-256 of its secret (what is stored is that hash; the secret itself
 * cannot be shown again). `printf %s "$KEY" | sha256sum | cut -c1-12` gives a key's fingerprint.
 */
export interface CredentialSummary {
  kind: CredentialKind;
  fingerprint: string;
  createdAt: Date | null;
}

/** How each secret of a new credential is made. */
const generate = {
  managementApiKey: () => newSecret('mgmt'),
  licenseApiKey: () => randomUUID(),
  sharedKey: () => newSecret('shk'),
  v3AccessToken: () => newSecret('v3at'),
} satisfies Record<keyof AccountCredentials, () => string>;

const FINGERPRINT_LENGTH = 12;

function fingerprintOf(hash: string): string {
  return hash.slice(0, FINGERPRINT_LENGTH);
}

export interface NewAccountInput {
  name: string;
  /** Credentials to use instead of generated ones (bootstrap, tests). */
  credentials?: Partial<AccountCredentials>;
}

/** Accounts (tenants), their credentials and their signing keys. */
export class AccountService {
  constructor(
    private readonly repo: AccountsPort,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    /** Unsealed active signing keys by account id (unsealing is the costly part of signing). */
    private readonly signingKeys: TtlCache<number, UnsealedSigningKey>,
  ) {}

  /** Creates an account; returns the plaintext credentials (shown once, stored only hashed or sealed). */
  async createAccount(input: NewAccountInput): Promise<{ account: Account; credentials: AccountCredentials }> {
    const now = this.clock.now();
    const credentials: AccountCredentials = {
      managementApiKey: input.credentials?.managementApiKey ?? generate.managementApiKey(),
      licenseApiKey: input.credentials?.licenseApiKey ?? generate.licenseApiKey(),
      sharedKey: input.credentials?.sharedKey ?? generate.sharedKey(),
      v3AccessToken: input.credentials?.v3AccessToken ?? generate.v3AccessToken(),
    };
    const account = await this.repo.insert({
      id: newNumericId(),
      name: input.name,
      managementKeyHashes: [hashSecret(credentials.managementApiKey)],
      licenseApiKeys: [{ hash: hashSecret(credentials.licenseApiKey), sealedSharedKey: this.box.seal(credentials.sharedKey) }],
      accessTokens: [{ hash: hashSecret(credentials.v3AccessToken), scopes: [...ALL_PERMISSIONS] }],
      signingKeys: [await newSigningKey(this.box, now)],
      createdAt: now,
    });
    return { account, credentials };
  }

  /** Creates an account with a name no other account has (the admin CLI); `invalid_input` when one has it. */
  async openAccount(name: string): Promise<{ account: Account; credentials: AccountCredentials }> {
    if (name.trim() === '') throw new DomainError('invalid_input', 'An account needs a name');
    if (await this.repo.findByName(name)) throw new DomainError('invalid_input', `An account named "${name}" exists already`);
    return this.createAccount({ name });
  }

  /** Every account, oldest first. */
  async listAccounts(): Promise<Account[]> {
    return this.repo.list();
  }

  /** The account's credentials, without their secrets (see CredentialSummary); `not_found` without such an account. */
  async listCredentials(accountId: number): Promise<CredentialSummary[]> {
    const stored = await this.repo.credentials(accountId);
    if (!stored) throw new DomainError('not_found', 'Account not found');
    return stored.map((c) => ({ kind: c.kind, fingerprint: fingerprintOf(c.hash), createdAt: c.createdAt }));
  }

  /** A new credential of `kind`: its secrets (to show once) and what is stored of it (hashed, the shared key sealed). */
  private newCredential(kind: CredentialKind): { secrets: NewCredentialSecrets; stored: StoredCredential } {
    const createdAt = this.clock.now();
    switch (kind) {
      case 'management': {
        const managementApiKey = generate.managementApiKey();
        return { secrets: { kind, managementApiKey }, stored: { kind, hash: hashSecret(managementApiKey), createdAt } };
      }
      case 'license-api': {
        const licenseApiKey = generate.licenseApiKey();
        const sharedKey = generate.sharedKey();
        return { secrets: { kind, licenseApiKey, sharedKey }, stored: { kind, hash: hashSecret(licenseApiKey), sealedSharedKey: this.box.seal(sharedKey), createdAt } };
      }
      case 'v3-token': {
        const v3AccessToken = generate.v3AccessToken();
        return { secrets: { kind, v3AccessToken }, stored: { kind, hash: hashSecret(v3AccessToken), scopes: [...ALL_PERMISSIONS], createdAt } };
      }
    }
  }

  /** Adds a credential of `kind` beside the ones the account holds; returns its secrets (shown once). */
  async addCredential(accountId: number, kind: CredentialKind): Promise<{ secrets: NewCredentialSecrets; fingerprint: string }> {
    const { secrets, stored } = this.newCredential(kind);
    if (!(await this.repo.addCredential(accountId, stored))) throw new DomainError('not_found', 'Account not found');
    return { secrets, fingerprint: fingerprintOf(stored.hash) };
  }

  /**
   * Replaces every credential of `kind` with one new one in a single update: from then on the old
   * ones authenticate nothing (a running server's License API key cache may accept an old License
   * API key for up to 10 s). Returns the new secrets (shown once) and the fingerprints replaced.
   */
  async rotateCredential(accountId: number, kind: CredentialKind): Promise<{ secrets: NewCredentialSecrets; fingerprint: string; replaced: string[] }> {
    const before = await this.listCredentials(accountId);
    const { secrets, stored } = this.newCredential(kind);
    if (!(await this.repo.replaceCredentials(accountId, kind, stored))) throw new DomainError('not_found', 'Account not found');
    return { secrets, fingerprint: fingerprintOf(stored.hash), replaced: before.filter((c) => c.kind === kind).map((c) => c.fingerprint) };
  }

  /**
   * Revokes the account's credentials of `kind`: all of them, or the one whose fingerprint starts
   * with `fingerprint`. An account may be left without any credential of a kind: that API then
   * answers it as an unknown key. Returns the fingerprints revoked; `not_found` when none matches.
   */
  async revokeCredential(accountId: number, kind: CredentialKind, fingerprint?: string): Promise<string[]> {
    const stored = await this.repo.credentials(accountId);
    if (!stored) throw new DomainError('not_found', 'Account not found');
    const matching = stored.filter((c) => c.kind === kind && (fingerprint === undefined || c.hash.startsWith(fingerprint.toLowerCase())));
    if (matching.length === 0) throw new DomainError('not_found', fingerprint === undefined ? `The account has no ${kind} credential` : `The account has no ${kind} credential with fingerprint ${fingerprint}`);
    if (fingerprint !== undefined && matching.length > 1) throw new DomainError('invalid_input', `Fingerprint ${fingerprint} names ${matching.length} ${kind} credentials: give more of it`);
    // One by one, by hash: a credential added meanwhile is not taken away with them.
    for (const c of matching) await this.repo.removeCredential(accountId, kind, c.hash);
    return matching.map((c) => fingerprintOf(c.hash));
  }

  /**
   * Makes sure an account named `name` exists and holds the given credentials (idempotent), for
   * scripted deployments. Returns the account and whether it was created.
   */
  async ensureAccount(name: string, credentials: Partial<AccountCredentials>): Promise<{ account: Account; created: boolean }> {
    const existing = await this.repo.findByName(name);
    if (!existing) {
      const { account } = await this.createAccount({ name, credentials });
      return { account, created: true };
    }
    const now = this.clock.now();
    await this.repo.addCredentials(
      existing.id,
      {
        ...(credentials.managementApiKey ? { managementKeyHash: hashSecret(credentials.managementApiKey) } : {}),
        ...(credentials.licenseApiKey && credentials.sharedKey
          ? { licenseApiKey: { hash: hashSecret(credentials.licenseApiKey), sealedSharedKey: this.box.seal(credentials.sharedKey) } }
          : {}),
        ...(credentials.v3AccessToken ? { accessToken: { hash: hashSecret(credentials.v3AccessToken), scopes: [...ALL_PERMISSIONS] } } : {}),
      },
      now,
    );
    return { account: existing, created: false };
  }

  /** The account named `name`, or (without a name) the oldest account; null when there is none. */
  async findAccount(name?: string): Promise<Account | null> {
    return name !== undefined ? this.repo.findByName(name) : this.repo.findFirst();
  }

  async countAccounts(): Promise<number> {
    return this.repo.count();
  }

  async getAccount(id: number): Promise<Account> {
    const account = await this.repo.findById(id);
    if (!account) throw new DomainError('not_found', 'Account not found');
    return account;
  }

  /** The account a management API key belongs to. */
  async authenticateManagementKey(key: string): Promise<Account> {
    const hash = hashSecret(key);
    const found = await this.repo.findByManagementKeyHash(hash);
    if (!found || !constantTimeEqual(found.storedHash, hash)) throw new DomainError('unauthenticated', 'Invalid management API key');
    return found.account;
  }

  /** The account and shared key of a License API key (the shared key verifies request signatures). */
  async authenticateLicenseApiKey(apiKey: string): Promise<{ account: Account; sharedKey: string }> {
    const hash = hashSecret(apiKey);
    const found = await this.repo.findByLicenseApiKeyHash(hash);
    if (!found || !constantTimeEqual(found.storedHash, hash)) throw new DomainError('unauthenticated', 'Unknown License API key');
    return { account: found.account, sharedKey: this.box.open(found.sealedSharedKey) };
  }

  /** The account and permissions of an access token (stored codes that name no permission grant nothing). */
  async authenticateAccessToken(token: string): Promise<{ account: Account; permissions: Permission[] }> {
    const hash = hashSecret(token);
    const found = await this.repo.findByAccessTokenHash(hash);
    if (!found || !constantTimeEqual(found.storedHash, hash)) throw new DomainError('unauthenticated', 'Invalid access token');
    return { account: found.account, permissions: found.scopes.filter(isPermission) };
  }

  /** The account's active signing key (private key unsealed and cached in memory). */
  async signingKey(accountId: number): Promise<UnsealedSigningKey> {
    return this.signingKeys.getOrLoad(accountId, async () => {
      const stored = (await this.repo.signingKeys(accountId)).find((k) => k.active);
      if (!stored) throw new DomainError('not_found', 'Account has no active signing key');
      return unsealSigningKey(this.box, stored);
    });
  }

  /** Public JWKs: one account's, or every account's (for `/.well-known/jwks.json`). */
  async publicJwks(accountId?: number): Promise<Array<Record<string, unknown>>> {
    if (accountId !== undefined) {
      return (await this.repo.signingKeys(accountId)).filter((k) => k.active).map((k) => k.publicJwk);
    }
    return (await this.repo.allActivePublicKeys()).map(({ key }) => key.publicJwk);
  }
}
