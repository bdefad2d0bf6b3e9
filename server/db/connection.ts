import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../logger.js';
import { registerModels, type Models } from './models.js';

export interface Database {
  connection: Connection;
  models: Models;
  /** The URI connected to (the embedded engine's when MONGODB_URI is unset). */
  uri: string;
  /** True when the server answers a ping. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A real MongoDB; when absent the embedded engine is started. */
  uri: string | undefined;
  dbName?: string | undefined;
  /** Data directory of the embedded engine (undefined = memory only). */
  embeddedDataDir?: string | undefined;
  logger: Logger;
  /** How long an operation waits for a reachable server before failing (default 5 s). */
  serverSelectionTimeoutMs?: number | undefined;
  /** How long a connection attempt or monitoring check may hang (default 10 s, the driver's is 30 s). */
  connectTimeoutMs?: number | undefined;
}

/**
 * Connects mongoose to `uri`, or starts the embedded MongoDB-compatible engine and connects to it.
 * Indexes are created before this resolves, so the first requests already use them.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let uri: string;
  let stopEngine: (() => Promise<void>) | undefined;
  if (options.uri !== undefined) {
    uri = options.uri;
  } else {
    const { startEmbeddedMongo } = await import('./embedded/index.js');
    const engine = await startEmbeddedMongo({ port: 0, dataDir: options.embeddedDataDir });
    uri = engine.uri;
    stopEngine = () => engine.stop();
    options.logger.info({ dataDir: options.embeddedDataDir ?? '(memory)' }, 'embedded database engine started (development and single-node use only)');
  }
  const connection = mongoose.createConnection(uri, {
    dbName: options.dbName,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5_000,
    // Fail fast while the database is away (the request answers 503) instead of queueing commands
    // in memory until it returns: a client that got an error must be able to rely on nothing
    // having happened later on its behalf.
    bufferCommands: false,
    // A monitoring check that hangs (e.g. on a server that accepted the connection while shutting
    // down) delays reconnecting to the restarted server by this much.
    connectTimeoutMS: options.connectTimeoutMs ?? 10_000,
    autoIndex: false,
    autoCreate: true,
  });
  try {
    await connection.asPromise();
    const models = registerModels(connection);
    await Promise.all(Object.values(models).map((model) => model.createIndexes()));
    return {
      connection,
      models,
      uri,
      async ping() {
        try {
          // Ask the server itself: mongoose's readyState can lag behind a reconnection for a while.
          const db = connection.db;
          if (!db) return false;
          await db.admin().command({ ping: 1 }, { timeoutMS: 2_000 } as never);
          return true;
        } catch {
          return false;
        }
      },
      async close() {
        await connection.close();
        await stopEngine?.();
      },
    };
  } catch (err) {
    await connection.close().catch(() => undefined);
    await stopEngine?.();
    throw err;
  }
}
