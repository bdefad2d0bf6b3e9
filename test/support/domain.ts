import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../../server/db/connection.js';
import type { Clock } from '../../server/domain/clock.js';
import { createLogger } from '../../server/logger.js';
import { createServices, type Services } from '../../server/services.js';
import { startTestDatabase } from './database.js';

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

/** An account with a product that has an activation feature and a consumption feature. */
export async function seedAccountWithProduct(services: Services, name = `acct-${randomBytes(3).toString('hex')}`) {
  const { account, credentials } = await services.accounts.createAccount({ name });
  const product = await services.products.createProduct(account.id, { name: 'Demo product', shortCode: `demo-${randomBytes(3).toString('hex')}` });
  await services.products.addFeature(account.id, product.id, { code: 'export', name: 'Export', featureType: 'activation' });
  await services.products.addFeature(account.id, product.id, { code: 'api-calls', name: 'API calls', featureType: 'consumption', maxConsumption: 100 });
  return { account, credentials, product: await services.products.getProduct(account.id, product.id) };
}
