import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { newNumericId, newSecret } from './ids.js';
import { hashSecret, SecretBox, constantTimeEqual } from './secrets.js';
import { newSigningKey, unsealSigningKey, type UnsealedSigningKey } from './signing-keys.js';
import type { Account } from './types.js';
import type { AccountsPort } from './ports.js';
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
      managementApiKey: input.credentials?.managementApiKey ?? newSecret('mgmt'),
      licenseApiKey: input.credentials?.licenseApiKey ?? randomUUID(),
      sharedKey: input.credentials?.sharedKey ?? newSecret('shk'),
      v3AccessToken: input.credentials?.v3AccessToken ?? newSecret('v3at'),
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
