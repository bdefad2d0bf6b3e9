import type { SealingKeyPort } from '../domain/ports.js';
import { isDuplicateKey } from './duplicate-keys.js';
import type { Models } from './models.js';

const CANARY_ID = 'secrets-canary';

/** The canary of the secrets key (collection `settings`) and a sample of the secrets sealed with that key. */
export class SealingKeyRepository implements SealingKeyPort {
  constructor(private readonly models: Models) {}

  async findCanary(): Promise<string | null> {
    const doc = await this.models.Setting.findById(CANARY_ID, { value: 1 }).lean<{ value: unknown }>();
    return doc && typeof doc.value === 'string' ? doc.value : null;
  }

  async insertCanary(sealed: string, now: Date): Promise<string> {
    try {
      await this.models.Setting.updateOne({ _id: CANARY_ID }, { $setOnInsert: { value: sealed, createdAt: now } }, { upsert: true });
    } catch (err) {
      // Two processes upserting at once: one inserts, the other's upsert may fail on the _id; both read the stored one.
      if (!isDuplicateKey(err)) throw err;
    }
    const stored = await this.findCanary();
    if (stored === null) throw new Error('the secrets canary was not stored');
    return stored;
  }

  async anySealedSecret(): Promise<string | null> {
    const shared = await this.models.Account.findOne({ 'licenseApiKeys.sealedSharedKey': { $exists: true } }, { 'licenseApiKeys.sealedSharedKey': 1 }).lean<{
      licenseApiKeys?: Array<{ sealedSharedKey?: unknown }>;
    }>();
    const sharedKey = shared?.licenseApiKeys?.find((k) => typeof k.sealedSharedKey === 'string')?.sealedSharedKey;
    if (typeof sharedKey === 'string') return sharedKey;
    const signing = await this.models.Account.findOne({ 'signingKeys.sealedPrivateKeyPem': { $exists: true } }, { 'signingKeys.sealedPrivateKeyPem': 1 }).lean<{
      signingKeys?: Array<{ sealedPrivateKeyPem?: unknown }>;
    }>();
    const privateKey = signing?.signingKeys?.find((k) => typeof k.sealedPrivateKeyPem === 'string')?.sealedPrivateKeyPem;
    if (typeof privateKey === 'string') return privateKey;
    const webhook = await this.models.WebhookSubscription.findOne({}, { sealedSecret: 1 }).lean<{ sealedSecret?: unknown }>();
    return typeof webhook?.sealedSecret === 'string' ? webhook.sealedSecret : null;
  }
}
