/**
 * `npm run seed`: adds a demo product (an activation feature and a consumption feature) and a demo
 * license to an existing account, and prints their ids and the license key. Uses the same database
 * as `npm start` (MONGODB_URI, or the embedded engine's DATA_DIR, default ./data/db). The account is
 * BOOTSTRAP_ACCOUNT_NAME's when set, else the oldest account (start the server once first).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../server/config.js';
import { openDatabase } from '../server/db/connection.js';
import { createLogger } from '../server/logger.js';
import { chooseSecretsKey, settleSecretsKey } from '../server/secrets-key.js';
import { createServices } from '../server/services.js';

async function seed(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const keyChoice = chooseSecretsKey(config);
  const db = await openDatabase({ uri: config.mongodbUri, dbName: config.mongodbDbName, embeddedDataDir: config.embeddedDataDir, logger });
  try {
    const secretsKey = await settleSecretsKey(keyChoice, db, logger);
    const services = createServices(db, { secretsKey });
    const account = await services.accounts.findAccount(config.bootstrap.accountName);
    if (!account) {
      const which = config.bootstrap.accountName ? `named "${config.bootstrap.accountName}" (BOOTSTRAP_ACCOUNT_NAME)` : 'at all';
      process.stderr.write(`seed: no account ${which}; start the server once (npm start) to create one, then run npm run seed again.\n`);
      return 1;
    }
    const suffix = randomBytes(3).toString('hex');
    const product = await services.products.createProduct(account.id, { name: 'Demo app', shortCode: `demo-${suffix}` });
    const activation = await services.products.addFeature(account.id, product.id, { code: 'export-pdf', name: 'Export to PDF', featureType: 'activation' });
    const consumption = await services.products.addFeature(account.id, product.id, {
      code: 'api-calls',
      name: 'API calls',
      featureType: 'consumption',
      maxConsumption: 1000,
      resetConsumption: true,
      consumptionPeriod: 'monthly',
    });
    const license = await services.licenses.createLicense(account.id, { productId: product.id, type: 'consumption', maxActivations: 3, consumption: { max: 10_000 } });
    process.stdout.write(
      [
        `Seeded account "${account.name}" (id ${account.id}):`,
        `  product:              id ${product.id}, short code ${product.shortCode}`,
        `  activation feature:   id ${activation.id}, code ${activation.code}`,
        `  consumption feature:  id ${consumption.id}, code ${consumption.code} (1000 per month)`,
        `  license:              id ${license.id}, key ${license.key}`,
        '',
        `Try: curl -H 'Authorization: Api-Key <management key>' http://localhost:${config.port}/api/v1/licenses/${license.id}/`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await db.close();
  }
}

seed().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`seed: ${err instanceof ConfigError ? `configuration error: ${err.message}` : (err as Error).message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
