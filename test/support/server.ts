import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../server/config.js';
import type { Clock } from '../../server/domain/clock.js';
import type { AccountCredentials } from '../../server/domain/accounts.js';
import type { Account } from '../../server/domain/types.js';
import { createLogger } from '../../server/logger.js';
import { startServer, type RunningServer, type StartOptions } from '../../server/server.js';
import { startTestDatabase } from '../../server/db/embedded/test/database.js';
import { buildAccount } from './fixtures.js';

export interface TestServer {
  baseUrl: string;
  server: RunningServer;
  services: RunningServer['services'];
  /** An account created for the test, with its plaintext credentials. */
  account: Account;
  credentials: AccountCredentials;
  /** Creates another account (for tenant isolation tests). */
  createAccount(name?: string): Promise<{ account: Account; credentials: AccountCredentials }>;
  stop(): Promise<void>;
}

/**
 * The real server (same wiring as `npm start`) on a free loopback port, on a fresh database (the
 * embedded engine, or MONGODB_URI), with response validation on and one account ready.
 * `monitorCommands`: the server's database client emits the driver's command monitoring events
 * (`commandStarted`, `commandSucceeded`, on `t.server.db.connection.getClient()`).
 */
export async function startTestServer(options: { clock?: Clock; env?: Record<string, string>; monitorCommands?: boolean; httpTimeouts?: StartOptions['httpTimeouts'] } = {}): Promise<TestServer> {
  const testDb = await startTestDatabase();
  const uri = options.monitorCommands ? `${testDb.uri}${testDb.uri.includes('?') ? '&' : '?'}monitorCommands=true` : testDb.uri;
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGODB_URI: uri,
    MONGODB_DB_NAME: testDb.dbName,
    SECRETS_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    // Load and concurrency tests must not be throttled; the hardening tests turn the limits on.
    RATE_LIMIT_PER_IP: '0',
    RATE_LIMIT_PER_KEY: '0',
    ...options.env,
  });
  const server = await startServer({ config, logger: createLogger(config.logLevel), print: () => undefined, ...(options.clock ? { clock: options.clock } : {}), ...(options.httpTimeouts ? { httpTimeouts: options.httpTimeouts } : {}) });
  const createAccount = (name?: string) => buildAccount(server.services, name);
  const { account, credentials } = await createAccount();
  return {
    baseUrl: server.url,
    server,
    services: server.services,
    account,
    credentials,
    createAccount,
    async stop() {
      await server.close();
      await testDb.stop();
    },
  };
}
