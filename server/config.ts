import { isIP } from 'node:net';
import { MAX_LEDGER_RETENTION_DAYS, MIN_LEDGER_RETENTION_DAYS } from './domain/ledger-retention.js';

/**
 * Configuration from the environment, validated once at start-up. A bad value stops the process
 * with a message naming the variable and what it accepts.
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** Start-up warnings to log: settings that look like ours but are not read, a MONGODB_URI without a database. */
  warnings: string[];
  nodeEnv: string;
  host: string;
  port: number;
  /** Real MongoDB to use; when absent the embedded engine is started. */
  mongodbUri: string | undefined;
  /** Database name (overrides the one in the URI). */
  mongodbDbName: string | undefined;
  /** Data directory of the embedded engine; `undefined` with EMBEDDED_DB_IN_MEMORY=true. */
  embeddedDataDir: string | undefined;
  logLevel: LogLevel;
  /** Validate responses against the spec (on in test and development). */
  validateResponses: boolean;
  /** Base64 of 32 bytes: key encrypting secrets that must stay recoverable (License API shared keys). */
  secretsKey: string | undefined;
  shutdownTimeoutMs: number;
  webhooksAllowPrivateTargets: boolean;
  /** Webhook dispatcher (see server/webhooks/dispatcher.ts). */
  webhookDelivery: {
    /** Run the dispatcher in this process (WEBHOOKS_DISPATCHER, default true). */
    enabled: boolean;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxDelayMs: number;
    timeoutMs: number;
    pollIntervalMs: number;
  };
  /** WEB_CONCURRENCY: 0 = one process; N >= 1 = a primary forking N workers on one port (needs MONGODB_URI). */
  webConcurrency: number;
  /** How long a database operation waits for a reachable server before the request answers 503. */
  dbServerSelectionTimeoutMs: number;
  /** How long opening a connection (or a monitoring check) to the database may take before it is given up and retried. */
  dbConnectTimeoutMs: number;
  /** Reconnection watchdog: rebuild the driver's client when it has not reached a reachable database for this long (0 = off). */
  dbReconnectWatchdogMs: number;
  /** How long a running request's Idempotency-Key claim is honoured before a retry may take it over. */
  idempotencyLockMs: number;
  /**
   * Write concern of every state-changing database operation (DB_WRITE_CONCERN, DB_WRITE_JOURNAL):
   * default `{ w: 'majority', j: true }`, so a write is acknowledged only once it is on disk
   * (journaled) on a majority of the replica set (the embedded engine: fsynced).
   */
  dbWriteConcern: { w: 'majority' | number; j: boolean };
  /** Repair of outbox entries left behind by a crash (its own job, independent of the webhook dispatcher). */
  outboxRepair: {
    /** How often the repair pass runs (OUTBOX_REPAIR_INTERVAL_MS; 0 = never in this process). */
    intervalMs: number;
    /** Age at which an entry counts as left behind (OUTBOX_REPAIR_AFTER_MS). */
    afterMs: number;
  };
  /** Retention of the consumption ledger (see domain/ledger-retention.ts). */
  ledgerRetention: {
    /** LEDGER_RETENTION_DAYS: days of entries kept, older ones summarised into rollups and deleted; null (`forever`, the default) keeps every entry. */
    days: number | null;
    /** LEDGER_RETENTION_INTERVAL_MS: how often the job runs in this process (0 = never in this process). */
    intervalMs: number;
  };
  rateLimit: RateLimitConfig;
  /**
   * PUBLIC_BASE_URL: the absolute http(s) URL clients reach the server at (no trailing slash, no
   * query, fragment or credentials). Every absolute URL the API writes starts with it: pagination
   * links and activation token issuers. Unset: issuers use `http://localhost:<port>`, links the
   * request's (validated) Host.
   */
  publicBaseUrl: string | undefined;
  /** TRUST_PROXY: Express's `trust proxy` (false = the socket's address is the client's). */
  trustProxy: TrustProxy;
  /**
   * CORS_ALLOWED_ORIGINS: browser origins allowed to call the client-side APIs (`/v3`, `/api/v4`),
   * comma-separated exact origins (`https://app.example.com`) or `*`; empty (default): no CORS headers.
   */
  corsAllowedOrigins: string[];
  bootstrap: {
    accountName: string | undefined;
    managementApiKey: string | undefined;
    licenseApiKey: string | undefined;
    sharedKey: string | undefined;
    v3AccessToken: string | undefined;
  };
}

/** Fixed-window request limits per client IP and per credential; 0 turns a limit off. */
export interface RateLimitConfig {
  windowMs: number;
  perIp: number;
  perKey: number;
}

/** Which proxies' `X-Forwarded-*` headers are believed: none, the nearest N hops, or these addresses, ranges and names. */
export type TrustProxy = false | number | string[];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

/**
 * The one boolean parser of every setting (also the bench's knobs): true/1/yes or false/0/no, any
 * case; unset or empty is the fallback; anything else is a ConfigError naming the variable.
 */
export function booleanSetting(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

const boolean = booleanSetting;

function outboxRepair(env: Env): Config['outboxRepair'] {
  // WEBHOOKS_REPAIR_AFTER_MS is the setting's former name (the repair used to be the dispatcher's).
  const afterMs = integer(env, 'OUTBOX_REPAIR_AFTER_MS', integer(env, 'WEBHOOKS_REPAIR_AFTER_MS', 30_000, 0, 86_400_000), 0, 86_400_000);
  const intervalMs = integer(env, 'OUTBOX_REPAIR_INTERVAL_MS', Math.min(5_000, Math.max(250, Math.floor(afterMs / 2))), 0, 3_600_000);
  return { intervalMs, afterMs };
}

function ledgerRetention(env: Env): Config['ledgerRetention'] {
  const raw = nonEmpty(env, 'LEDGER_RETENTION_DAYS');
  let days: number | null = null;
  if (raw !== undefined && raw.toLowerCase() !== 'forever') {
    if (!/^\d+$/.test(raw) || Number(raw) < MIN_LEDGER_RETENTION_DAYS || Number(raw) > MAX_LEDGER_RETENTION_DAYS) {
      throw new ConfigError(
        `LEDGER_RETENTION_DAYS must be "forever" (keep every ledger entry) or a whole number of days from ${MIN_LEDGER_RETENTION_DAYS} to ${MAX_LEDGER_RETENTION_DAYS} (entries must outlive the 24 h of an Idempotency-Key), got "${raw}"`,
      );
    }
    days = Number(raw);
  }
  return { days, intervalMs: integer(env, 'LEDGER_RETENTION_INTERVAL_MS', 3_600_000, 0, 86_400_000) };
}

function writeConcern(env: Env): Config['dbWriteConcern'] {
  const raw = nonEmpty(env, 'DB_WRITE_CONCERN') ?? 'majority';
  let w: 'majority' | number;
  if (raw === 'majority') w = 'majority';
  else if (/^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 50) w = Number(raw);
  else throw new ConfigError(`DB_WRITE_CONCERN must be "majority" or a number of nodes from 1 to 50, got "${raw}"`);
  return { w, j: boolean(env, 'DB_WRITE_JOURNAL', true) };
}

function publicBaseUrl(env: Env): string | undefined {
  const raw = nonEmpty(env, 'PUBLIC_BASE_URL');
  if (raw === undefined) return undefined;
  const expected = 'PUBLIC_BASE_URL must be an absolute http:// or https:// URL without query, fragment or credentials (e.g. https://licensing.example.com)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${expected}, got "${raw}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' || raw.includes('?') || raw.includes('#')) {
    throw new ConfigError(`${expected}, got "${raw}"`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Names Express's `trust proxy` accepts for well-known ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function trustProxy(env: Env): TrustProxy {
  const raw = nonEmpty(env, 'TRUST_PROXY');
  if (raw === undefined || raw === 'false') return false;
  if (/^\d+$/.test(raw)) {
    const hops = integer(env, 'TRUST_PROXY', 0, 0, 100);
    return hops === 0 ? false : hops;
  }
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => !isProxyAddress(entry))) {
    throw new ConfigError(
      `TRUST_PROXY must be a number of proxy hops (0 to 100) or a comma-separated list of IP addresses, CIDR ranges (10.0.0.0/8) and the names ${PROXY_RANGE_NAMES.join(', ')}; "true" is refused because it would let any client choose its address; got "${raw}"`,
    );
  }
  return entries;
}

/** An origin as browsers send it: scheme, host and optional port, nothing else (`https://app.example.com:8443`). */
function isOrigin(entry: string): boolean {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === entry;
}

function corsAllowedOrigins(env: Env): string[] {
  const raw = nonEmpty(env, 'CORS_ALLOWED_ORIGINS');
  if (raw === undefined) return [];
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.includes('*') && entries.length === 1) return ['*'];
  const bad = entries.filter((entry) => !isOrigin(entry));
  if (bad.length > 0) {
    throw new ConfigError(
      `CORS_ALLOWED_ORIGINS must be "*" or a comma-separated list of origins, each a scheme, host and optional port in lower case without a path or trailing slash (https://app.example.com); not origins: ${bad.map((b) => `"${b}"`).join(', ')}`,
    );
  }
  return entries;
}

/** Variables of this project read by other entry points (the engine CLI, scripts, tests), not by loadConfig. */
const READ_ELSEWHERE = new Set(['EMBEDDED_MONGO_PORT', 'EMBEDDED_MONGO_HOST', 'EMBEDDED_MONGO_DBPATH', 'LICENSE_API_KEY', 'LICENSE_SHARED_KEY', 'GENERATE_NO_CACHE', 'TEST_LOG_LEVEL']);
/** First name segments that only this project's settings use. */
const OUR_PREFIXES = new Set(['BOOTSTRAP', 'CORS', 'DB', 'EMBEDDED', 'IDEMPOTENCY', 'LEDGER', 'MONGO', 'MONGODB', 'OUTBOX', 'RATE', 'SECRETS', 'SHUTDOWN', 'TRUST', 'VALIDATE', 'WEBHOOK', 'WEBHOOKS']);

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** Variables set in `env` that look like one of `known` (a typo, or a name of ours we do not read) and are ignored. */
function unknownSettings(env: Env, known: ReadonlySet<string>): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || READ_ELSEWHERE.has(name) || env[name] === undefined) continue;
    const segment = name.split('_')[0]!;
    // A name of two or more segments that starts a setting's name (RATE_LIMIT), or a near miss of one (MONGO_URI).
    const close = [...known].filter((k) => k.length >= 7 && (editDistance(name, k) <= 2 || (name.includes('_') && k.startsWith(`${name}_`))));
    if (close.length === 0 && !OUR_PREFIXES.has(segment)) continue;
    const guess = (close.length > 0 ? close : [...known].filter((k) => k.split('_')[0] === segment))
      .map((k) => ({ k, d: k.startsWith(`${name}_`) ? 0 : editDistance(name, k) }))
      .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
      .map(({ k }) => k);
    warnings.push(`${name} is not a setting of this server and is ignored${guess.length > 0 ? ` (did you mean ${guess.slice(0, 3).join(' or ')}?)` : ''}`);
  }
  return warnings;
}

/** The database name a MongoDB URI names in its path, if any. */
function uriDatabase(uri: string): string | undefined {
  const afterScheme = uri.replace(/^mongodb(\+srv)?:\/\//, '');
  const slash = afterScheme.indexOf('/');
  if (slash === -1) return undefined;
  const name = decodeURIComponent(afterScheme.slice(slash + 1).split('?')[0]!);
  return name === '' ? undefined : name;
}

export function loadConfig(source: Env = process.env): Config {
  // Every name read is recorded, so the variables that look like ours but are not read can be named.
  const read = new Set<string>();
  const env: Env = new Proxy(source, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  const config = readConfig(env);
  const warnings = unknownSettings(source, read);
  if (config.mongodbUri !== undefined && config.mongodbDbName === undefined && uriDatabase(config.mongodbUri) === undefined) {
    warnings.push('MONGODB_URI names no database and MONGODB_DB_NAME is not set: the driver uses the database "test"; name one (mongodb://host/licensing?replicaSet=rs0, or MONGODB_DB_NAME)');
  }
  return { ...config, warnings };
}

function readConfig(env: Env): Omit<Config, 'warnings'> {
  const nodeEnv = nonEmpty(env, 'NODE_ENV') ?? 'production';
  const logLevel = (nonEmpty(env, 'LOG_LEVEL') ?? (nodeEnv === 'test' ? 'silent' : 'info')) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${String(logLevel)}"`);
  }
  const mongodbUri = nonEmpty(env, 'MONGODB_URI');
  if (mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    throw new ConfigError('MONGODB_URI must start with mongodb:// or mongodb+srv://');
  }
  const secretsKey = nonEmpty(env, 'SECRETS_KEY');
  if (secretsKey !== undefined && Buffer.from(secretsKey, 'base64').length !== 32) {
    throw new ConfigError('SECRETS_KEY must be the base64 encoding of exactly 32 random bytes (openssl rand -base64 32)');
  }
  const inMemory = boolean(env, 'EMBEDDED_DB_IN_MEMORY', false);
  const webConcurrency = integer(env, 'WEB_CONCURRENCY', 0, 0, 256);
  if (webConcurrency > 0 && mongodbUri === undefined) {
    throw new ConfigError('WEB_CONCURRENCY (cluster mode) needs MONGODB_URI: every worker must use the same database (run the embedded engine as its own process with `npm run db`)');
  }
  return {
    nodeEnv,
    host: nonEmpty(env, 'HOST') ?? '0.0.0.0',
    port: integer(env, 'PORT', 3000, 0, 65535),
    mongodbUri,
    mongodbDbName: nonEmpty(env, 'MONGODB_DB_NAME'),
    embeddedDataDir: inMemory ? undefined : (nonEmpty(env, 'DATA_DIR') ?? './data/db'),
    logLevel,
    validateResponses: boolean(env, 'VALIDATE_RESPONSES', nodeEnv === 'test' || nodeEnv === 'development'),
    secretsKey,
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    webhooksAllowPrivateTargets: boolean(env, 'WEBHOOKS_ALLOW_PRIVATE_TARGETS', false),
    webhookDelivery: {
      enabled: boolean(env, 'WEBHOOKS_DISPATCHER', true),
      maxAttempts: integer(env, 'WEBHOOKS_MAX_ATTEMPTS', 10, 1, 100),
      retryBaseMs: integer(env, 'WEBHOOKS_RETRY_BASE_MS', 30_000, 1, 86_400_000),
      retryMaxDelayMs: integer(env, 'WEBHOOKS_RETRY_MAX_DELAY_MS', 12 * 3_600_000, 1, 7 * 86_400_000),
      timeoutMs: integer(env, 'WEBHOOKS_TIMEOUT_MS', 10_000, 100, 60_000),
      pollIntervalMs: integer(env, 'WEBHOOKS_POLL_INTERVAL_MS', 1000, 5, 600_000),
    },
    webConcurrency,
    dbServerSelectionTimeoutMs: integer(env, 'DB_SERVER_SELECTION_TIMEOUT_MS', 5_000, 100, 120_000),
    dbConnectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 10_000, 100, 120_000),
    dbReconnectWatchdogMs: integer(env, 'DB_RECONNECT_WATCHDOG_MS', 30_000, 0, 3_600_000),
    idempotencyLockMs: integer(env, 'IDEMPOTENCY_LOCK_MS', 30_000, 100, 600_000),
    dbWriteConcern: writeConcern(env),
    outboxRepair: outboxRepair(env),
    ledgerRetention: ledgerRetention(env),
    rateLimit: {
      windowMs: integer(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1_000, 86_400_000),
      perIp: integer(env, 'RATE_LIMIT_PER_IP', 600, 0, 10_000_000),
      perKey: integer(env, 'RATE_LIMIT_PER_KEY', 6_000, 0, 10_000_000),
    },
    publicBaseUrl: publicBaseUrl(env),
    trustProxy: trustProxy(env),
    corsAllowedOrigins: corsAllowedOrigins(env),
    bootstrap: {
      accountName: nonEmpty(env, 'BOOTSTRAP_ACCOUNT_NAME'),
      managementApiKey: nonEmpty(env, 'BOOTSTRAP_MANAGEMENT_API_KEY'),
      licenseApiKey: nonEmpty(env, 'BOOTSTRAP_LICENSE_API_KEY'),
      sharedKey: nonEmpty(env, 'BOOTSTRAP_SHARED_KEY'),
      v3AccessToken: nonEmpty(env, 'BOOTSTRAP_V3_ACCESS_TOKEN'),
    },
  };
}
