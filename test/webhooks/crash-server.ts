/**
 * The real server in a child process, for the webhook crash test: `node --import tsx test/webhooks/crash-server.ts`.
 * Database from the environment (DATA_DIR, or MONGODB_URI + MONGODB_DB_NAME). With CRASH_SEED=1 it first
 * creates a product, a license and one activation. With CRASH_NO_SETTLE=1 it behaves as if it died right
 * after each state change: event entries stay in the outboxes (nothing moves them to the events
 * collection) and the dispatcher is off. Prints one JSON line `{url, licenseId?, activationId?, key?, productId?}`.
 */
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer } from '../../server/server.js';
import { buildV3Activation, fingerprint } from '../support/fixtures.js';
import { seedV3License, seedV3Product } from '../v3/support.js';

const noSettle = process.env.CRASH_NO_SETTLE === '1';
const config = loadConfig({
  ...process.env,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'silent',
  BOOTSTRAP_ACCOUNT_NAME: 'webhook-crash-test',
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOKS_POLL_INTERVAL_MS: '20',
  WEBHOOKS_REPAIR_AFTER_MS: '0',
  // Dying right after the commits: no dispatcher, and no repair pass may settle the fresh outbox entries first.
  ...(noSettle ? { WEBHOOKS_DISPATCHER: 'false', WEBHOOKS_REPAIR_AFTER_MS: '3600000' } : {}),
});
const server = await startServer({ config, logger: createLogger((process.env.CRASH_LOG_LEVEL ?? 'silent') as 'silent'), print: () => undefined });
if (noSettle) server.services.eventOutbox.settle = async () => undefined;
let seed = {};
if (process.env.CRASH_SEED === '1') {
  const accountId = (await server.services.accounts.authenticateAccessToken(process.env.BOOTSTRAP_V3_ACCESS_TOKEN!)).account.id;
  const { productId } = await seedV3Product(server.services, accountId);
  const license = await seedV3License(server.services, accountId, productId);
  const { device } = await buildV3Activation(server.services, { productId, key: license.key!, fingerprint: fingerprint('crash'), details: { os: 'linux', hostname: 'h' } });
  seed = { licenseId: license.id, activationId: device.activationId, key: license.key, productId, accountId };
}
process.stdout.write(`${JSON.stringify({ url: server.url, ...seed })}\n`);
