/**
 * Embedded MongoDB-compatible engine: an in-process server speaking the MongoDB wire protocol,
 * for development, tests and single-node trials. Production must use a real MongoDB replica set
 * through MONGODB_URI.
 */
import { CursorRegistry } from './cursors.js';
import { WireServer, type Logger } from './server.js';
import { Catalog } from './storage/catalog.js';
import { dataDirState, publishEndpoint, type DataDirState } from './storage/endpoint.js';
import { Persistence, type DurabilityStatus, type PersistenceOptions, type StorageFaults } from './storage/persistence.js';
import { startIdleCollector } from './storage/memory.js';
import { TtlMonitor } from './storage/ttl.js';

export interface EmbeddedMongoOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; defaults to 127.0.0.1. */
  host?: string;
  /** Directory for the journal and snapshots; omit for a memory-only engine. */
  dataDir?: string;
  logger?: Logger;
  /** Compact (snapshot) once this many bytes were journaled since the last snapshot (default 64 MiB). */
  compactThresholdBytes?: number;
  /** How often an engine that cannot write its journal retries (default 500 ms). */
  probeIntervalMs?: number;
  /** How long to wait before retrying a failed compaction (default 10 s). */
  compactRetryMs?: number;
  /** Tests only: make journal/snapshot writes fail as if the disk were full. */
  storageFaults?: StorageFaults;
}

export interface EmbeddedMongo {
  uri: string;
  port: number;
  /** Runs the TTL monitor's pass now (it runs once a minute by itself); returns how many documents it deleted. */
  sweepExpired(now?: number): number;
  /** False while the journal cannot be written and every write command is refused (see README). */
  writable(): boolean;
  /** `{ writable, lastError?, failedSince?, failures }`, also in `serverStatus.durability`. */
  durability(): DurabilityStatus;
  stop(): Promise<void>;
}

export type { DataDirState, DurabilityStatus, Logger, StorageFaults };
export { dataDirState };
export { CorruptDataError } from './storage/records.js';
export { repairDataDir, formatRepairReport, type RepairReport } from './storage/repair.js';

export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const host = options.host ?? '127.0.0.1';
  const catalog = new Catalog();
  const cursors = new CursorRegistry();
  let persistence: Persistence | undefined;
  if (options.dataDir) {
    const persistenceOptions: PersistenceOptions = { onRollback: () => cursors.killAll() };
    if (options.compactThresholdBytes !== undefined) persistenceOptions.compactThresholdBytes = options.compactThresholdBytes;
    if (options.probeIntervalMs !== undefined) persistenceOptions.probeIntervalMs = options.probeIntervalMs;
    if (options.compactRetryMs !== undefined) persistenceOptions.compactRetryMs = options.compactRetryMs;
    if (options.storageFaults !== undefined) persistenceOptions.faults = options.storageFaults;
    try {
      persistence = await Persistence.open(options.dataDir, catalog, options.logger, persistenceOptions);
    } catch (err) {
      cursors.close();
      throw err;
    }
  }
  const ttl = new TtlMonitor(catalog, options.logger, 60_000, () => !persistence?.writeRefusal());
  const server = new WireServer({ catalog, cursors, durability: persistence, logger: options.logger, persistent: !!persistence });
  let address: { host: string; port: number };
  try {
    address = await server.listen(options.port ?? 0, host);
  } catch (err) {
    ttl.stop();
    cursors.close();
    await persistence?.close();
    throw err;
  }
  const uriHost = address.host.includes(':') ? `[${address.host}]` : address.host;
  const uri = `mongodb://${uriHost}:${address.port}/?directConnection=true`;
  // Other local processes (the admin CLI) find the engine that holds the directory here (loopback when bound to every interface).
  let endpoint: { withdraw(): Promise<void> } | undefined;
  if (options.dataDir) {
    const local = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '[::1]' : uriHost;
    try {
      endpoint = await publishEndpoint(options.dataDir, `mongodb://${local}:${address.port}/?directConnection=true`);
    } catch (err) {
      options.logger?.warn?.(`embedded-mongo: could not publish the engine's address in ${options.dataDir} (${(err as Error).message}); other local clients cannot find it`);
    }
  }
  ttl.start();
  const stopIdleCollector = startIdleCollector();
  let stopped: Promise<void> | undefined;
  return {
    uri,
    port: address.port,
    sweepExpired: (now?: number) => (persistence?.writeRefusal() ? 0 : ttl.sweep(now)),
    writable: () => !persistence?.writeRefusal(),
    durability: () => persistence?.status() ?? { writable: true, failures: 0 },
    stop() {
      stopped ??= (async () => {
        await endpoint?.withdraw().catch(() => undefined);
        ttl.stop();
        stopIdleCollector();
        await server.close();
        cursors.close();
        await persistence?.close();
      })();
      return stopped;
    },
  };
}
