import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../../server/db/connection.js';
import type { Clock } from '../../server/domain/clock.js';
import { createLogger } from '../../server/logger.js';
import { createServices, type Services } from '../../server/services.js';
import { startTestDatabase } from '../../server/db/embedded/test/database.js';
import { buildAccount, buildProduct } from './fixtures.js';

export interface TestDomain {
  db: Database;
  services: Services;
  secretsKey: string;
  stop(): Promise<void>;
}

/** A fresh database (embedded engine, or MONGODB_URI) with the domain services on it. */
export async function startTestDomain(options: { clock?: Clock } = {}): Promise<TestDomain> {
  const testDb = await startTestDatabase();
  const db = await openDatabase({ uri: testDb.uri, dbName: testDb.dbName, logger: createLogger('silent') });
  const secretsKey = randomBytes(32).toString('base64');
  const services = createServices(db, { secretsKey, allowPrivateWebhookTargets: true, ...(options.clock ? { clock: options.clock } : {}) });
  return {
    db,
    services,
    secretsKey,
    async stop() {
      await db.close();
      await testDb.stop();
    },
  };
}

/** An account with the demo product (activation feature `export`, consumption feature `api-calls`, max 100). */
export async function seedAccountWithProduct(services: Services, name?: string) {
  const { account, credentials } = await buildAccount(services, name);
  return { account, credentials, product: await buildProduct(services, account.id) };
}
