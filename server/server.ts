import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { bootstrapAccounts } from './bootstrap.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/connection.js';
import type { Clock } from './domain/clock.js';
import { buildApis } from './http/apis.js';
import { PublicUrls } from './http/public-url.js';
import type { Logger } from './logger.js';
import { chooseSecretsKey, settleSecretsKey } from './secrets-key.js';
import { createServices, type Services } from './services.js';
import { OutboxRepairJob } from './outbox-repair.js';
import { LedgerRetentionJob } from './ledger-retention-job.js';
import { DEFAULT_DISPATCHER_OPTIONS, WebhookDispatcher } from './webhooks/dispatcher.js';

export interface RunningServer {
  url: string;
  db: Database;
  services: Services;
  /** The webhook dispatcher (started unless WEBHOOKS_DISPATCHER=false; stopped by close()). */
  dispatcher: WebhookDispatcher;
  /** The outbox repair job (runs unless OUTBOX_REPAIR_INTERVAL_MS=0; stopped by close()). */
  repair: OutboxRepairJob;
  /** The ledger retention job (runs when LEDGER_RETENTION_DAYS is a number of days, unless LEDGER_RETENTION_INTERVAL_MS=0; stopped by close()). */
  retention: LedgerRetentionJob;
  /** Stops accepting connections, finishes in-flight requests, then closes the database. */
  close(): Promise<void>;
}

/**
 * Socket timeouts of the HTTP server: a request must deliver its headers within 20 s and be fully
 * received within 30 s (Node's defaults, 60 s and 300 s, let slow clients hold sockets for
 * minutes); an exceeded one is answered `408` and its connection closed. Connections are checked
 * every second.
 */
export const HTTP_TIMEOUTS = { headersTimeoutMs: 20_000, requestTimeoutMs: 30_000, checkIntervalMs: 1_000 };

export interface StartOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Where to print one-time output such as demo credentials. */
  print?: (text: string) => void;
  /** Overrides of HTTP_TIMEOUTS (tests). */
  httpTimeouts?: Partial<typeof HTTP_TIMEOUTS>;
}

/** The configured port cannot be listened on (another process holds it, or it is not allowed). */
export class PortUnavailableError extends Error {
  override name = 'PortUnavailableError';
}

function portError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  if (err.code === 'EADDRINUSE') return new PortUnavailableError(`Port ${port} on ${host} is already in use: stop the process that holds it, or set PORT`);
  if (err.code === 'EACCES') return new PortUnavailableError(`Port ${port} on ${host} may not be listened on by this user (EACCES): choose a port above 1023, or set PORT`);
  if (err.code === 'EADDRNOTAVAIL') return new PortUnavailableError(`HOST ${host} is not an address of this machine (EADDRNOTAVAIL)`);
  return err;
}

/**
 * Fails at once when the port cannot be listened on, before the database is opened or anything is
 * written (the demo account, keys). A cluster worker's probe shares the primary's handle like its
 * real listen does, so workers pass it.
 */
async function assertPortAvailable(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err: NodeJS.ErrnoException) => reject(portError(err, host, port)));
    probe.listen(port, host, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/** Opens the database, wires the services and the app, and listens. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, logger } = options;
  await assertPortAvailable(config.host, config.port);
  const keyChoice = chooseSecretsKey(config);
  const db = await openDatabase({ uri: config.mongodbUri, dbName: config.mongodbDbName, embeddedDataDir: config.embeddedDataDir, logger, serverSelectionTimeoutMs: config.dbServerSelectionTimeoutMs, connectTimeoutMs: config.dbConnectTimeoutMs, reconnectWatchdogMs: config.dbReconnectWatchdogMs, writeConcern: config.dbWriteConcern });
  try {
    // Refuses to start (SecretsKeyMismatch, exit code 2) when the key does not open the stored secrets.
    const secretsKey = await settleSecretsKey(keyChoice, db, logger);
    const services = createServices(db, {
      secretsKey,
      allowPrivateWebhookTargets: config.webhooksAllowPrivateTargets,
      idempotencyLockMs: config.idempotencyLockMs,
      ledgerRetentionDays: config.ledgerRetention.days,
      logger,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const banner = await bootstrapAccounts(config, services, logger);
    const print = options.print ?? ((text: string) => process.stderr.write(`${text}\n`));
    // Without PUBLIC_BASE_URL, token issuers are http://localhost:<the port listened on>.
    let listeningPort = config.port;
    const urls = new PublicUrls(config.publicBaseUrl, () => `http://localhost:${listeningPort}`);
    const app = createApp({
      logger,
      validateResponses: config.validateResponses,
      checkReadiness: async () => (await db.ping()) && (await db.acceptsWrites()),
      rateLimit: config.rateLimit,
      trustProxy: config.trustProxy,
      corsAllowedOrigins: config.corsAllowedOrigins,
      apis: buildApis(services, urls),
    });
    const timeouts = { ...HTTP_TIMEOUTS, ...options.httpTimeouts };
    const server: Server = createServer(
      { headersTimeout: timeouts.headersTimeoutMs, requestTimeout: timeouts.requestTimeoutMs, connectionsCheckingInterval: timeouts.checkIntervalMs },
      app,
    );
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => reject(portError(err, config.host, config.port)));
        server.listen(config.port, config.host, () => resolve());
      });
    } finally {
      // The demo credentials are shown once, also when listening failed after the account was made.
      listeningPort = (server.address() as AddressInfo | null)?.port ?? config.port;
      if (banner) print(banner(urls.issuerBase()));
    }
    server.keepAliveTimeout = 65_000;
    const { enabled: dispatcherEnabled, ...delivery } = config.webhookDelivery;
    const dispatcher = new WebhookDispatcher({
      deliveries: services.webhookDeliveries,
      subscriptions: services.webhookSubscriptions,
      events: services.events,
      webhooks: services.webhooks,
      clock: services.clock,
      logger,
      options: { ...DEFAULT_DISPATCHER_OPTIONS, ...delivery, allowPrivateTargets: config.webhooksAllowPrivateTargets },
    });
    if (dispatcherEnabled) dispatcher.start();
    const repair = new OutboxRepairJob(services.eventOutbox, config.outboxRepair, logger, () => services.clock.now(), services.devices);
    repair.start();
    const retention = new LedgerRetentionJob(services.ledgerRetention, config.ledgerRetention.intervalMs, logger);
    retention.start();
    const { port } = server.address() as AddressInfo;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      db,
      services,
      dispatcher,
      repair,
      retention,
      close() {
        closing ??= (async () => {
          await dispatcher.stop();
          await repair.stop();
          await retention.stop();
          await new Promise<void>((resolve) => {
            // Keep-alive connections go as soon as they are idle; busy ones finish their request first.
            const sweep = setInterval(() => server.closeIdleConnections(), 50);
            const deadline = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
            server.close(() => {
              clearInterval(sweep);
              clearTimeout(deadline);
              resolve();
            });
            server.closeIdleConnections();
          });
          await db.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}
