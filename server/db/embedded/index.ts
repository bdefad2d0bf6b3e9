/**
 * Embedded MongoDB-compatible engine: an in-process server speaking the MongoDB wire protocol,
 * for development, tests and single-node trials. Production must use a real MongoDB replica set
 * through MONGODB_URI.
 */
import { CursorRegistry } from './cursors.js';
import { WireServer, type Logger } from './server.js';
import { Catalog } from './storage/catalog.js';
import { Persistence } from './storage/persistence.js';
import { TtlMonitor } from './storage/ttl.js';

export interface EmbeddedMongoOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; defaults to 127.0.0.1. */
  host?: string;
  /** Directory for the journal and snapshots; omit for a memory-only engine. */
  dataDir?: string;
  logger?: Logger;
}

export interface EmbeddedMongo {
  uri: string;
  port: number;
  /** Runs the TTL monitor's pass now (it runs once a minute by itself); returns how many documents it deleted. */
  sweepExpired(now?: number): number;
  stop(): Promise<void>;
}

export type { Logger };

export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const host = options.host ?? '127.0.0.1';
  const catalog = new Catalog();
  const cursors = new CursorRegistry();
  let persistence: Persistence | undefined;
  if (options.dataDir) {
    persistence = await Persistence.open(options.dataDir, catalog, options.logger);
  }
  const ttl = new TtlMonitor(catalog, options.logger);
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
  ttl.start();
  const uriHost = address.host.includes(':') ? `[${address.host}]` : address.host;
  let stopped: Promise<void> | undefined;
  return {
    uri: `mongodb://${uriHost}:${address.port}/?directConnection=true`,
    port: address.port,
    sweepExpired: (now?: number) => ttl.sweep(now),
    stop() {
      stopped ??= (async () => {
        ttl.stop();
        await server.close();
        cursors.close();
        await persistence?.close();
      })();
      return stopped;
    },
  };
}
