/**
 * The two deployments under test, each able to SIGKILL and restart its parts:
 *
 * - `in-process`: the server as a child process with DATA_DIR and no MONGODB_URI, as `npm start`
 *   runs it: the embedded engine lives inside the server process, so killing the server kills both.
 * - `separate`: the engine as its own process (`cli.ts --dbpath`), the server with MONGODB_URI,
 *   MONGODB_DB_NAME and SECRETS_KEY. With MONGODB_URI set in the test process (a real MongoDB) that
 *   database is used instead of an engine, and engine kills are not possible (`canKillEngine` false).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { startEngine, startServer, type EngineChild, type SeedInfo, type ServerChild } from './processes.js';

export type DeploymentMode = 'in-process' | 'separate';
export type KillTarget = 'server' | 'engine' | 'both';

/** Short settings so that lapsed claims and left-behind outbox entries are taken over quickly. */
export const FAULT_SERVER_ENV: Record<string, string> = {
  NODE_ENV: 'production',
  IDEMPOTENCY_LOCK_MS: '1000',
  WEBHOOKS_REPAIR_AFTER_MS: '500',
  OUTBOX_REPAIR_AFTER_MS: '500',
  OUTBOX_REPAIR_INTERVAL_MS: '250',
  DB_SERVER_SELECTION_TIMEOUT_MS: '1500',
  DB_CONNECT_TIMEOUT_MS: '2000',
  DB_RECONNECT_WATCHDOG_MS: '3000',
  RATE_LIMIT_PER_IP: '0',
  RATE_LIMIT_PER_KEY: '0',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Deployment {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'faults-'));
  readonly dataDir = path.join(this.dir, 'db');
  readonly realMongoUri = process.env.MONGODB_URI;
  engine: EngineChild | undefined;
  server: ServerChild | undefined;
  seed!: SeedInfo;
  private serverEnv: Record<string, string> = {};
  private dbNameOverride: string | undefined;
  /** Log of what happened, for the report. */
  readonly events: string[] = [];
  /** Time origin of the event log (the load uses the same one). */
  t0 = Date.now();

  constructor(readonly mode: DeploymentMode) {}

  get canKillEngine(): boolean {
    return this.mode === 'separate' && !this.realMongoUri;
  }

  get url(): string {
    return this.server!.url;
  }

  private log(what: string) {
    this.events.push(`t=${Date.now() - this.t0} ms ${what}`);
  }

  async start(seed: { limit: number; bulk: number; seats: number }): Promise<SeedInfo> {
    this.t0 = Date.now();
    if (this.mode === 'in-process') {
      this.serverEnv = { ...FAULT_SERVER_ENV, DATA_DIR: this.dataDir };
    } else {
      let uri = this.realMongoUri;
      if (!uri) {
        this.engine = await startEngine(this.dataDir);
        uri = this.engine.uri;
        this.log(`engine up ${uri}`);
      }
      this.dbNameOverride = `faults_${randomBytes(5).toString('hex')}`;
      this.serverEnv = { ...FAULT_SERVER_ENV, MONGODB_URI: uri, MONGODB_DB_NAME: this.dbNameOverride, SECRETS_KEY: randomBytes(32).toString('base64') };
    }
    this.server = await startServer({ ...this.serverEnv, FAULTS_SEED: JSON.stringify(seed) });
    this.log(`server up ${this.server.url} (db ${this.server.dbUri})`);
    this.seed = this.server.seed!;
    return this.seed;
  }

  /** SIGKILL `target` (server, engine, or both at once), then bring back what was killed. */
  async kill(target: KillTarget, afterKill: () => void = () => undefined): Promise<void> {
    const killEngine = target !== 'server' && this.canKillEngine;
    const killServer = target !== 'engine';
    await Promise.all([killServer ? this.server!.kill() : undefined, killEngine ? this.engine!.kill() : undefined]);
    afterKill();
    this.log(`SIGKILL ${[killServer ? 'server' : '', killEngine ? 'engine' : ''].filter(Boolean).join('+')}`);
    if (killEngine) {
      await sleep(200);
      this.engine = await this.restartEngine(this.engine!.port);
      this.log(`engine restarted on port ${this.engine.port}`);
    }
    if (killServer) {
      this.server = await startServer(this.serverEnv);
      this.log(`server restarted ${this.server.url}`);
    }
    await this.ready();
  }

  /** Waits (bounded) until the server says its database answers. */
  async ready(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return;
      if (Date.now() > deadline) {
        this.log(`server not ready after ${timeoutMs} ms (readyz ${status})`);
        return;
      }
      await sleep(50);
    }
  }

  /** The engine on the same port and data; the port can be briefly unavailable right after a kill. */
  private async restartEngine(port: number): Promise<EngineChild> {
    let lastError: unknown;
    for (let i = 0; i < 20; i += 1) {
      try {
        return await startEngine(this.dataDir, port);
      } catch (err) {
        lastError = err;
        await sleep(250);
      }
    }
    throw lastError;
  }

  /** A direct driver connection to the database the server uses (never through the server). */
  async client(): Promise<{ client: MongoClient; dbName: string }> {
    const uri = this.mode === 'in-process' ? this.server!.dbUri : (this.realMongoUri ?? this.engine!.uri);
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000 });
    await client.connect();
    return { client, dbName: this.dbNameOverride ?? this.server!.dbName };
  }

  async close(): Promise<void> {
    await this.server?.kill().catch(() => undefined);
    if (this.realMongoUri && this.dbNameOverride) {
      const client = new MongoClient(this.realMongoUri, { serverSelectionTimeoutMS: 5_000 });
      await client
        .connect()
        .then(() => client.db(this.dbNameOverride).dropDatabase())
        .catch(() => undefined);
      await client.close().catch(() => undefined);
    }
    await this.engine?.kill().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
