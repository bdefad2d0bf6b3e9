import { resolve as resolvePath } from 'node:path';
import mongoose, { type ConnectOptions, type Connection } from 'mongoose';
import type { Logger } from '../logger.js';
import { registerModels, type Models } from './models.js';

export interface Database {
  connection: Connection;
  models: Models;
  /** The URI connected to (the embedded engine's when MONGODB_URI is unset). */
  uri: string;
  /** True when the server answers a ping. */
  ping(): Promise<boolean>;
  /**
   * True when the database accepts a durable write right now (a tiny upsert with the configured write
   * concern): false while it refuses writes, e.g. on a full disk, even though it still answers pings.
   */
  acceptsWrites(): Promise<boolean>;
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
  /**
   * Reconnection watchdog: when pings through the driver have failed continuously for this long
   * while a fresh client reaches the database, the driver's client is rebuilt (default 30 s; 0 = off).
   */
  reconnectWatchdogMs?: number | undefined;
  /**
   * The write concern of every write (default `{ w: 'majority', j: true }`): a write is acknowledged
   * only once it is journaled on disk by a majority of the replica set (fsynced by the embedded
   * engine), so an acknowledged write survives a crash of any process.
   */
  writeConcern?: { w: 'majority' | number; j: boolean } | undefined;
}

/** The data directory is held by a live process that publishes no address to connect to. */
export class DataDirInUse extends Error {
  override name = 'DataDirInUse';
}

/** How a shared database was reached: MONGODB_URI, the running server's engine, or the data directory opened here. */
export type SharedDatabaseRoute = 'mongodb-uri' | 'running-engine' | 'data-dir';

/**
 * Opens the database of a running or stopped server for a second process (the admin CLI): MONGODB_URI
 * when set; else, when a live process holds the data directory, a second client of the engine it
 * runs (at the address it publishes in DATA_DIR/engine.json); else the data directory itself (the
 * engine runs in this process, holding the directory's lock until closed). Throws DataDirInUse when
 * the directory is held by a live process that publishes no address (an older server, or a process
 * that is starting or stopping).
 */
export async function openSharedDatabase(options: DatabaseOptions): Promise<Database & { route: SharedDatabaseRoute }> {
  if (options.uri !== undefined) return { ...(await openDatabase(options)), route: 'mongodb-uri' };
  if (options.embeddedDataDir === undefined) throw new DataDirInUse('the server keeps its database in memory (EMBEDDED_DB_IN_MEMORY): no other process can reach it');
  const { dataDirState } = await import('./embedded/index.js');
  const dir = resolvePath(options.embeddedDataDir);
  const held = dataDirState(dir);
  if (held.state === 'served') {
    try {
      return { ...(await openDatabase({ ...options, uri: held.uri, reconnectWatchdogMs: 0 })), route: 'running-engine' };
    } catch (err) {
      throw new DataDirInUse(`the data directory ${dir} is held by process ${held.pid}, whose database at ${held.uri} does not answer (${(err as Error).message})`);
    }
  }
  if (held.state === 'locked') {
    throw new DataDirInUse(`the data directory ${dir} is in use by process ${held.pid}, which publishes no database address (engine.json): stop it, or wait until it has started`);
  }
  try {
    return { ...(await openDatabase({ ...options, reconnectWatchdogMs: 0 })), route: 'data-dir' };
  } catch (err) {
    if (/is in use by process/.test((err as Error).message)) throw new DataDirInUse(`${(err as Error).message} (a server started meanwhile): run the command again`);
    throw err;
  }
}

export const DEFAULT_WRITE_CONCERN = { w: 'majority', j: true } as const;

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
  const connectOptions: ConnectOptions = {
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
    writeConcern: { w: (options.writeConcern ?? DEFAULT_WRITE_CONCERN).w, journal: (options.writeConcern ?? DEFAULT_WRITE_CONCERN).j },
  };
  const connection = mongoose.createConnection(uri, connectOptions);
  try {
    await connection.asPromise();
    const models = registerModels(connection);
    await Promise.all(Object.values(models).map((model) => model.createIndexes()));
    const ping = async (): Promise<boolean> => {
      try {
        // Ask the server itself: mongoose's readyState can lag behind a reconnection for a while.
        const db = connection.db;
        if (!db) return false;
        await db.admin().command({ ping: 1 }, { timeoutMS: 2_000 } as never);
        return true;
      } catch {
        return false;
      }
    };
    const acceptsWrites = async (): Promise<boolean> => {
      try {
        const db = connection.db;
        if (!db) return false;
        // The collection's name cannot clash with the app's; one document per process at most.
        await db.collection<{ _id: string; at: Date }>('service_health').updateOne({ _id: 'readiness' }, { $set: { at: new Date() } }, { upsert: true, timeoutMS: 2_000 } as never);
        return true;
      } catch {
        return false;
      }
    };
    const watchdogMs = options.reconnectWatchdogMs ?? 30_000;
    const watchdog = watchdogMs > 0 ? startReconnectWatchdog({ connection, uri, connectOptions, ping, stuckAfterMs: watchdogMs, logger: options.logger }) : undefined;
    return {
      connection,
      models,
      uri,
      ping,
      acceptsWrites,
      async close() {
        await watchdog?.stop();
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

interface WatchdogOptions {
  connection: Connection;
  uri: string;
  connectOptions: ConnectOptions;
  ping: () => Promise<boolean>;
  /** How long pings must have failed without interruption before a fresh client is asked. */
  stuckAfterMs: number;
  logger: Logger;
}

/**
 * Reconnection watchdog. The driver normally finds a restarted database by itself within a
 * heartbeat, but it has been seen (rarely, after the database was stopped and restarted under load)
 * to stay disconnected indefinitely while a new client reaches the same server at once. This pings
 * through the connection every few seconds; once pings have failed continuously for `stuckAfterMs`,
 * it asks a throwaway client whether the database answers. If it does, the connection's driver
 * client is the problem: it is closed and reopened on the same URI (models stay bound to the
 * connection). If it does not, the database really is away and nothing is done (no churn).
 */
function startReconnectWatchdog(options: WatchdogOptions): { stop(): Promise<void> } {
  const { connection, uri, connectOptions, ping, stuckAfterMs, logger } = options;
  const intervalMs = Math.max(250, Math.min(5_000, Math.floor(stuckAfterMs / 3)));
  let failingSince: number | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const reachableWithFreshClient = async (): Promise<boolean> => {
    const probe = new mongoose.mongo.MongoClient(uri, {
      serverSelectionTimeoutMS: Math.min(2_000, connectOptions.serverSelectionTimeoutMS ?? 2_000),
      connectTimeoutMS: Math.min(2_000, connectOptions.connectTimeoutMS ?? 2_000),
    });
    try {
      await probe.db('admin').command({ ping: 1 });
      return true;
    } catch {
      return false;
    } finally {
      await probe.close().catch(() => undefined);
    }
  };

  const tick = async (): Promise<void> => {
    if (await ping()) {
      failingSince = undefined;
      return;
    }
    const now = Date.now();
    failingSince ??= now;
    if (stopped || now - failingSince < stuckAfterMs) return;
    if (!(await reachableWithFreshClient()) || stopped) return;
    // Give the driver one last chance (it may have just found the server by itself).
    if (await ping()) {
      failingSince = undefined;
      return;
    }
    logger.warn({ failingForMs: now - failingSince }, 'database reachable but the driver is not reconnecting: rebuilding the database client');
    try {
      await connection.close();
      if (stopped) return;
      await connection.openUri(uri, connectOptions);
      logger.info('database client rebuilt');
      failingSince = undefined;
    } catch (err) {
      logger.error({ err }, 'rebuilding the database client failed; retrying later');
      failingSince = Date.now();
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().catch(() => undefined).finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
