/**
 * The reconnection watchdog (server/db/connection.ts): when the driver's client stops reaching a
 * database that a fresh client reaches, the connection rebuilds its client by itself and the same
 * models work again. The stuck driver is simulated by making its server selection fail forever.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/db/connection.js';
import { createLogger } from '../../server/logger.js';
import { startTestDatabase, type TestDatabase } from '../../server/db/embedded/test/database.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

/** Makes the driver behave as in the stuck-reconnection bug: every operation fails to select a server. */
function wedgeDriver(db: Database): void {
  const topology = (db.connection.getClient() as unknown as { topology: { selectServer: (...args: unknown[]) => Promise<unknown> } }).topology;
  topology.selectServer = () => Promise.reject(new Error('simulated: server selection never succeeds'));
}

describe('database: reconnection watchdog', () => {
  let testDb: TestDatabase;
  let db: Database | undefined;

  afterEach(async () => {
    await db?.close();
    db = undefined;
    await testDb?.stop();
  });

  it('rebuilds a driver client that no longer reaches a reachable database', { timeout: 20_000 }, async () => {
    testDb = await startTestDatabase();
    db = await openDatabase({ uri: testDb.uri, dbName: testDb.dbName, logger: createLogger('silent'), reconnectWatchdogMs: 1_000 });
    wedgeDriver(db);
    expect(await db.ping()).toBe(false);
    expect(await until(() => db!.ping(), 10_000)).toBe(true);
    // The models registered before work on the rebuilt client.
    expect(await db.models.Account.countDocuments({})).toBeGreaterThanOrEqual(0);
  });

  it('stays wedged without the watchdog (the failure it guards against)', { timeout: 20_000 }, async () => {
    testDb = await startTestDatabase();
    db = await openDatabase({ uri: testDb.uri, dbName: testDb.dbName, logger: createLogger('silent'), reconnectWatchdogMs: 0 });
    wedgeDriver(db);
    expect(await until(() => db!.ping(), 3_000)).toBe(false);
  });
});
