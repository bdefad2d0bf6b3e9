import type { Account, CredentialKind } from '../domain/types.js';
import type { Models } from './models.js';
import type { AccountsPort, NewAccountRecord, StoredCredential, StoredSigningKey } from '../domain/ports.js';

interface AccountDocument {
  _id: number;
  name: string;
  managementKeys: Array<{ hash: string; createdAt?: Date }>;
  licenseApiKeys: Array<{ hash: string; sealedSharedKey: string; createdAt?: Date }>;
  accessTokens: Array<{ hash: string; scopes: string[]; createdAt?: Date }>;
  signingKeys: StoredSigningKey[];
  createdAt: Date;
}

function toAccount(doc: Pick<AccountDocument, '_id' | 'name' | 'createdAt'>): Account {
  return { id: doc._id, name: doc.name, createdAt: doc.createdAt };
}

/** The account document's array that keeps each kind of credential. */
const CREDENTIAL_FIELDS = { management: 'managementKeys', 'license-api': 'licenseApiKeys', 'v3-token': 'accessTokens' } as const satisfies Record<CredentialKind, keyof AccountDocument>;

/** A credential as its array keeps it (the kind is the array's). */
function credentialEntry(credential: StoredCredential): Record<string, unknown> {
  const { kind: _kind, createdAt, ...rest } = credential;
  return { ...rest, createdAt };
}

/** Accounts and their credentials (hashes and sealed secrets only; never plaintext). */
export class AccountsRepository implements AccountsPort {
  constructor(private readonly models: Models) {}

  async insert(record: NewAccountRecord): Promise<Account> {
    const doc = {
      _id: record.id,
      name: record.name,
      managementKeys: record.managementKeyHashes.map((hash) => ({ hash, createdAt: record.createdAt })),
      licenseApiKeys: record.licenseApiKeys.map((k) => ({ ...k, createdAt: record.createdAt })),
      accessTokens: record.accessTokens.map((t) => ({ ...t, createdAt: record.createdAt })),
      signingKeys: record.signingKeys,
      createdAt: record.createdAt,
    };
    await this.models.Account.create(doc);
    return toAccount(doc);
  }

  async findById(id: number): Promise<Account | null> {
    const doc = await this.models.Account.findById(id, { name: 1, createdAt: 1 }).lean<AccountDocument>();
    return doc ? toAccount(doc) : null;
  }

  async findByName(name: string): Promise<Account | null> {
    const doc = await this.models.Account.findOne({ name }, { name: 1, createdAt: 1 }).lean<AccountDocument>();
    return doc ? toAccount(doc) : null;
  }

  /** The oldest account, or null when there is none. */
  async findFirst(): Promise<Account | null> {
    const doc = await this.models.Account.findOne({}, { name: 1, createdAt: 1 }).sort({ createdAt: 1, _id: 1 }).lean<AccountDocument>();
    return doc ? toAccount(doc) : null;
  }

  async count(): Promise<number> {
    return this.models.Account.countDocuments({});
  }

  async findByManagementKeyHash(hash: string): Promise<{ account: Account; storedHash: string } | null> {
    const doc = await this.models.Account.findOne({ 'managementKeys.hash': hash }, { name: 1, createdAt: 1, 'managementKeys.hash': 1 }).lean<AccountDocument>();
    const stored = doc?.managementKeys.find((k) => k.hash === hash);
    return doc && stored ? { account: toAccount(doc), storedHash: stored.hash } : null;
  }

  async findByLicenseApiKeyHash(hash: string): Promise<{ account: Account; storedHash: string; sealedSharedKey: string } | null> {
    const doc = await this.models.Account.findOne({ 'licenseApiKeys.hash': hash }, { name: 1, createdAt: 1, licenseApiKeys: 1 }).lean<AccountDocument>();
    const stored = doc?.licenseApiKeys.find((k) => k.hash === hash);
    return doc && stored ? { account: toAccount(doc), storedHash: stored.hash, sealedSharedKey: stored.sealedSharedKey } : null;
  }

  async findByAccessTokenHash(hash: string): Promise<{ account: Account; storedHash: string; scopes: string[] } | null> {
    const doc = await this.models.Account.findOne({ 'accessTokens.hash': hash }, { name: 1, createdAt: 1, accessTokens: 1 }).lean<AccountDocument>();
    const stored = doc?.accessTokens.find((t) => t.hash === hash);
    return doc && stored ? { account: toAccount(doc), storedHash: stored.hash, scopes: stored.scopes } : null;
  }

  /** Adds credentials that are not there yet (idempotent: a hash already present is not added twice). */
  async addCredentials(
    accountId: number,
    credentials: { managementKeyHash?: string; licenseApiKey?: { hash: string; sealedSharedKey: string }; accessToken?: { hash: string; scopes: string[] } },
    now: Date,
  ): Promise<void> {
    const { managementKeyHash, licenseApiKey, accessToken } = credentials;
    if (managementKeyHash) {
      await this.models.Account.updateOne(
        { _id: accountId, 'managementKeys.hash': { $ne: managementKeyHash } },
        { $push: { managementKeys: { hash: managementKeyHash, createdAt: now } } },
      );
    }
    if (licenseApiKey) {
      // The shared key may change for an existing api key: replace the entry atomically.
      await this.models.Account.updateOne({ _id: accountId }, { $pull: { licenseApiKeys: { hash: licenseApiKey.hash } } });
      await this.models.Account.updateOne({ _id: accountId }, { $push: { licenseApiKeys: { ...licenseApiKey, createdAt: now } } });
    }
    if (accessToken) {
      await this.models.Account.updateOne(
        { _id: accountId, 'accessTokens.hash': { $ne: accessToken.hash } },
        { $push: { accessTokens: { ...accessToken, createdAt: now } } },
      );
    }
  }

  async signingKeys(accountId: number): Promise<StoredSigningKey[]> {
    const doc = await this.models.Account.findById(accountId, { signingKeys: 1 }).lean<AccountDocument>();
    return doc?.signingKeys ?? [];
  }

  async list(): Promise<Account[]> {
    const docs = await this.models.Account.find({}, { name: 1, createdAt: 1 }).sort({ createdAt: 1, _id: 1 }).lean<AccountDocument[]>();
    return docs.map(toAccount);
  }

  async credentials(accountId: number): Promise<StoredCredential[] | null> {
    const doc = await this.models.Account.findById(accountId, { managementKeys: 1, licenseApiKeys: 1, accessTokens: 1 }).lean<AccountDocument>();
    if (!doc) return null;
    return [
      ...(doc.managementKeys ?? []).map((k): StoredCredential => ({ kind: 'management', hash: k.hash, createdAt: k.createdAt ?? null })),
      ...(doc.licenseApiKeys ?? []).map((k): StoredCredential => ({ kind: 'license-api', hash: k.hash, sealedSharedKey: k.sealedSharedKey, createdAt: k.createdAt ?? null })),
      ...(doc.accessTokens ?? []).map((t): StoredCredential => ({ kind: 'v3-token', hash: t.hash, scopes: t.scopes, createdAt: t.createdAt ?? null })),
    ];
  }

  async addCredential(accountId: number, credential: StoredCredential): Promise<boolean> {
    const result = await this.models.Account.updateOne({ _id: accountId }, { $push: { [CREDENTIAL_FIELDS[credential.kind]]: credentialEntry(credential) } });
    return result.matchedCount === 1;
  }

  async replaceCredentials(accountId: number, kind: CredentialKind, next: StoredCredential | null): Promise<boolean> {
    const result = await this.models.Account.updateOne({ _id: accountId }, { $set: { [CREDENTIAL_FIELDS[kind]]: next ? [credentialEntry(next)] : [] } });
    return result.matchedCount === 1;
  }

  async removeCredential(accountId: number, kind: CredentialKind, hash: string): Promise<boolean> {
    const field = CREDENTIAL_FIELDS[kind];
    const result = await this.models.Account.updateOne({ _id: accountId, [`${field}.hash`]: hash }, { $pull: { [field]: { hash } } });
    return result.modifiedCount === 1;
  }

  /** Every account's active public keys (for the JWKS endpoint). */
  async allActivePublicKeys(): Promise<Array<{ accountId: number; key: StoredSigningKey }>> {
    const docs = await this.models.Account.find({}, { signingKeys: 1 }).lean<AccountDocument[]>();
    return docs.flatMap((doc) => doc.signingKeys.filter((k) => k.active).map((key) => ({ accountId: doc._id, key })));
  }
}
