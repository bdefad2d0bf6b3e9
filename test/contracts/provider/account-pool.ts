import { openDatabase, type Database } from '../../../server/db/connection.js';
import type { AccountCredentials } from '../../../server/domain/accounts.js';
import type { Account } from '../../../server/domain/types.js';
import { createLogger } from '../../../server/logger.js';
import { createServices, type Services } from '../../../server/services.js';
import type { Models } from '../../../server/db/models.js';
import { buildAccount } from '../../support/fixtures.js';

interface PooledAccount {
  account: Account;
  credentials: AccountCredentials;
  /** The stored account document, as the domain service wrote it. */
  document: Record<string, unknown>;
}

/**
 * Fresh accounts for the provider states, made ahead of time. Creating an account generates its RSA
 * signing key, the slowest part of a state; so `ahead` accounts are always being created in the
 * background, through the domain services (`buildAccount`) on a side database of the same server
 * with the same SECRETS_KEY, while the verification runs. `take` copies the next one, as stored,
 * into the emptied database of the server under test, which has never seen it: the state gets a
 * fresh account exactly as if it had created it there.
 */
export class AccountPool {
  private readonly pending: Promise<PooledAccount>[] = [];

  private constructor(
    private readonly db: Database,
    private readonly services: Services,
    private readonly ahead: number,
  ) {
    for (let i = 0; i < ahead; i += 1) this.pending.push(this.create());
  }

  /** A pool on database `<dbName>-account-pool` next to the server's; `secretsKey` must be the server's SECRETS_KEY. */
  static async open(uri: string, dbName: string, secretsKey: string, ahead = 4): Promise<AccountPool> {
    const db = await openDatabase({ uri, dbName: `${dbName}-account-pool`, logger: createLogger('silent') });
    return new AccountPool(db, createServices(db, { secretsKey }), ahead);
  }

  private async create(): Promise<PooledAccount> {
    const { account, credentials } = await buildAccount(this.services, 'pact-provider-account');
    const document = await this.db.models.Account.collection.findOne({ _id: account.id as never });
    if (!document) throw new Error('account pool: the created account was not stored');
    return { account, credentials, document };
  }

  /** Stores the next fresh account in `models` (the server's) and returns it with its credentials. */
  async take(models: Models): Promise<{ account: Account; credentials: AccountCredentials }> {
    const next = this.pending.shift()!;
    this.pending.push(this.create());
    const { account, credentials, document } = await next;
    await models.Account.collection.insertOne(document);
    return { account, credentials };
  }

  /** Waits for the accounts still being created, then drops the side database. */
  async close(): Promise<void> {
    await Promise.allSettled(this.pending);
    await this.db.connection.dropDatabase();
    await this.db.close();
  }
}
