/**
 * The real server in a child process, for the crash-consistency test: `tsx test/v3/crash-server.ts`.
 * Database from the environment (DATA_DIR for the embedded engine, or MONGODB_URI + MONGODB_DB_NAME).
 * With CRASH_SEED=1 it first creates a product, a license and 4 activations; with CRASH_SEED=leases a
 * product and a license of 3 seats (no activations). Prints one JSON line
 * `{url, db: {uri, name}, accountId?, licenseId?, activationIds?, key?, productId?}` to stdout once it
 * listens (`db`: where the database is, for reading it directly).
 */
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer } from '../../server/server.js';
import { buildV3Activation, fingerprint } from '../support/fixtures.js';
import { seedV3License, seedV3Product } from './support.js';

const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', BOOTSTRAP_ACCOUNT_NAME: 'crash-test' });
const server = await startServer({ config, logger: createLogger('silent'), print: () => undefined });
let seed = {};
if (process.env.CRASH_SEED === '1') {
  const accountId = (await server.services.accounts.authenticateAccessToken(process.env.BOOTSTRAP_V3_ACCESS_TOKEN!)).account.id;
  const { productId } = await seedV3Product(server.services, accountId);
  const license = await seedV3License(server.services, accountId, productId);
  const activationIds: string[] = [];
  for (let i = 0; i < 4; i += 1) {
    const { device } = await buildV3Activation(server.services, { productId, key: license.key!, fingerprint: fingerprint(`crash-${i}`), details: { os: 'linux', hostname: `h${i}` } });
    activationIds.push(device.activationId);
  }
  seed = { accountId, licenseId: license.id, activationIds };
} else if (process.env.CRASH_SEED === 'leases') {
  const accountId = (await server.services.accounts.authenticateAccessToken(process.env.BOOTSTRAP_V3_ACCESS_TOKEN!)).account.id;
  const { productId } = await seedV3Product(server.services, accountId);
  const license = await seedV3License(server.services, accountId, productId, { maxActivations: 3 });
  seed = { accountId, licenseId: license.id, key: license.key, productId };
}
const db = { uri: server.db.uri, name: server.db.connection.name };
process.stdout.write(`${JSON.stringify({ url: server.url, db, ...seed })}\n`);
