import { spawnSync } from 'node:child_process';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.mongodbUri).toBeUndefined();
    expect(config.embeddedDataDir).toBe('./data/db');
    expect(config.nodeEnv).toBe('production');
    expect(config.validateResponses).toBe(false);
    expect(config.logLevel).toBe('info');
  });

  it('keeps every ledger entry by default; LEDGER_RETENTION_DAYS is "forever" or a number of days, run hourly', () => {
    expect(loadConfig({}).ledgerRetention).toEqual({ days: null, intervalMs: 3_600_000 });
    expect(loadConfig({ LEDGER_RETENTION_DAYS: 'forever' }).ledgerRetention.days).toBeNull();
    expect(loadConfig({ LEDGER_RETENTION_DAYS: ' Forever ' }).ledgerRetention.days).toBeNull();
    expect(loadConfig({ LEDGER_RETENTION_DAYS: '2' }).ledgerRetention.days).toBe(2);
    expect(loadConfig({ LEDGER_RETENTION_DAYS: '400', LEDGER_RETENTION_INTERVAL_MS: '0' }).ledgerRetention).toEqual({ days: 400, intervalMs: 0 });
    expect(loadConfig({ LEDGER_RETENTION: '30' }).warnings).toEqual(['LEDGER_RETENTION is not a setting of this server and is ignored (did you mean LEDGER_RETENTION_DAYS or LEDGER_RETENTION_INTERVAL_MS?)']);
  });

  it('a bad LEDGER_RETENTION_DAYS stops the start with one line naming it (exit code 2), before the database is opened', () => {
    const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production', EMBEDDED_DB_IN_MEMORY: 'true', PORT: '0', LEDGER_RETENTION_DAYS: '1' };
    delete env.MONGODB_URI;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'server/main.ts'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('Configuration error: LEDGER_RETENTION_DAYS must be "forever" (keep every ledger entry) or a whole number of days from 2 to 36500 (entries must outlive the 24 h of an Idempotency-Key), got "1"\n');
    expect(run.status).toBe(2);
  });

  it('turns response validation on in test and development', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).validateResponses).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development' }).validateResponses).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', VALIDATE_RESPONSES: 'false' }).validateResponses).toBe(false);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT must be an integer from 0 to 65535, got "abc"/],
    [{ PORT: '70000' }, /PORT must be an integer/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ MONGODB_URI: 'postgres://x' }, /MONGODB_URI must start with mongodb:\/\//],
    [{ SECRETS_KEY: 'c2hvcnQ=' }, /SECRETS_KEY must be the base64 encoding of exactly 32 random bytes/],
    [{ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'maybe' }, /WEBHOOKS_ALLOW_PRIVATE_TARGETS must be true or false/],
    [{ PUBLIC_BASE_URL: 'licensing.example.com' }, /PUBLIC_BASE_URL must be an absolute http:\/\/ or https:\/\/ URL without query, fragment or credentials/],
    [{ PUBLIC_BASE_URL: 'ftp://licensing.example.com' }, /PUBLIC_BASE_URL must be an absolute/],
    [{ PUBLIC_BASE_URL: 'https://licensing.example.com/?a=1' }, /PUBLIC_BASE_URL must be an absolute/],
    [{ PUBLIC_BASE_URL: 'https://licensing.example.com/#top' }, /PUBLIC_BASE_URL must be an absolute/],
    [{ PUBLIC_BASE_URL: 'https://user:pw@licensing.example.com' }, /PUBLIC_BASE_URL must be an absolute/],
    [{ PUBLIC_BASE_URL: 'https://exa mple.com' }, /PUBLIC_BASE_URL must be an absolute/],
    [{ CORS_ALLOWED_ORIGINS: 'app.example.com' }, /CORS_ALLOWED_ORIGINS must be "\*" or a comma-separated list of origins.*"app.example.com"/],
    [{ CORS_ALLOWED_ORIGINS: 'https://app.example.com/' }, /CORS_ALLOWED_ORIGINS must be/],
    [{ CORS_ALLOWED_ORIGINS: 'https://app.example.com/path' }, /CORS_ALLOWED_ORIGINS must be/],
    [{ CORS_ALLOWED_ORIGINS: 'https://App.example.com' }, /CORS_ALLOWED_ORIGINS must be/],
    [{ CORS_ALLOWED_ORIGINS: 'ftp://app.example.com' }, /CORS_ALLOWED_ORIGINS must be/],
    [{ CORS_ALLOWED_ORIGINS: '*,https://app.example.com' }, /CORS_ALLOWED_ORIGINS must be.*"\*"/],
    [{ TRUST_PROXY: 'true' }, /TRUST_PROXY must be a number of proxy hops \(0 to 100\) or a comma-separated list of IP addresses, CIDR ranges/],
    [{ TRUST_PROXY: '101' }, /TRUST_PROXY must be an integer from 0 to 100/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY must be a number of proxy hops/],
    [{ TRUST_PROXY: 'loopback,proxy.example' }, /TRUST_PROXY must be a number of proxy hops/],
    [{ TRUST_PROXY: '10.0.0.1,' }, /TRUST_PROXY must be a number of proxy hops/],
    [{ TRUST_PROXY: '-1' }, /TRUST_PROXY must be a number of proxy hops/],
    [{ LEDGER_RETENTION_DAYS: '1' }, 'LEDGER_RETENTION_DAYS must be "forever" (keep every ledger entry) or a whole number of days from 2 to 36500 (entries must outlive the 24 h of an Idempotency-Key), got "1"'],
    [{ LEDGER_RETENTION_DAYS: '0' }, /LEDGER_RETENTION_DAYS must be "forever" .* got "0"/],
    [{ LEDGER_RETENTION_DAYS: '30d' }, /LEDGER_RETENTION_DAYS must be "forever" .* got "30d"/],
    [{ LEDGER_RETENTION_DAYS: '7.5' }, /LEDGER_RETENTION_DAYS must be "forever" .* got "7.5"/],
    [{ LEDGER_RETENTION_DAYS: '36501' }, /LEDGER_RETENTION_DAYS must be "forever" .* got "36501"/],
    [{ LEDGER_RETENTION_DAYS: 'never' }, /LEDGER_RETENTION_DAYS must be "forever" .* got "never"/],
    [{ LEDGER_RETENTION_INTERVAL_MS: '-5' }, /LEDGER_RETENTION_INTERVAL_MS must be an integer from 0 to 86400000, got "-5"/],
  ])('rejects %o with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('warns about variables that look like settings but are not read, and about a MONGODB_URI without a database', () => {
    expect(loadConfig({}).warnings).toEqual([]);
    expect(loadConfig({ PORT: '3000', LOG_LEVEL: 'info', HOME: '/root', PATH: '/usr/bin', HOSTNAME: 'x', NODE_OPTIONS: '', NODE: '/usr/bin/node', LOGNAME: 'root', EMBEDDED_MONGO_PORT: '1' }).warnings).toEqual([]);
    expect(loadConfig({ MONGO_URI: 'mongodb://db/x', LOGLEVEL: 'debug', WEBHOOKS_TIMEOUT: '5', RATE_LIMIT: '9' }).warnings).toEqual([
      'LOGLEVEL is not a setting of this server and is ignored (did you mean LOG_LEVEL?)',
      'MONGO_URI is not a setting of this server and is ignored (did you mean MONGODB_URI?)',
      'RATE_LIMIT is not a setting of this server and is ignored (did you mean RATE_LIMIT_PER_IP or RATE_LIMIT_PER_KEY or RATE_LIMIT_WINDOW_MS?)',
      'WEBHOOKS_TIMEOUT is not a setting of this server and is ignored (did you mean WEBHOOKS_TIMEOUT_MS?)',
    ]);
    expect(loadConfig({ MONGODB_URI: 'mongodb://db1,db2/?replicaSet=rs0' }).warnings).toEqual([
      'MONGODB_URI names no database and MONGODB_DB_NAME is not set: the driver uses the database "test"; name one (mongodb://host/licensing?replicaSet=rs0, or MONGODB_DB_NAME)',
    ]);
    expect(loadConfig({ MONGODB_URI: 'mongodb://db1' }).warnings).toHaveLength(1);
    expect(loadConfig({ MONGODB_URI: 'mongodb://db1,db2/licensing?replicaSet=rs0' }).warnings).toEqual([]);
    expect(loadConfig({ MONGODB_URI: 'mongodb+srv://user:pw@cluster.example.net/' , MONGODB_DB_NAME: 'licensing' }).warnings).toEqual([]);
  });

  it('reads every boolean setting with the one parser: true/1/yes, false/0/no, any case; anything else names the variable', () => {
    const settings: Array<[string, (c: ReturnType<typeof loadConfig>) => boolean]> = [
      ['VALIDATE_RESPONSES', (c) => c.validateResponses],
      ['WEBHOOKS_ALLOW_PRIVATE_TARGETS', (c) => c.webhooksAllowPrivateTargets],
      ['WEBHOOKS_DISPATCHER', (c) => c.webhookDelivery.enabled],
      ['DB_WRITE_JOURNAL', (c) => c.dbWriteConcern.j],
      ['EMBEDDED_DB_IN_MEMORY', (c) => c.embeddedDataDir === undefined],
    ];
    for (const [name, read] of settings) {
      for (const yes of ['true', '1', 'yes', 'YES', 'True']) expect(read(loadConfig({ [name]: yes })), `${name}=${yes}`).toBe(true);
      for (const no of ['false', '0', 'no', 'No', 'FALSE']) expect(read(loadConfig({ [name]: no })), `${name}=${no}`).toBe(false);
      expect(() => loadConfig({ [name]: 'maybe' })).toThrow(`${name} must be true or false, got "maybe"`);
    }
  });

  it('reads PUBLIC_BASE_URL as an origin with an optional path, without a trailing slash', () => {
    expect(loadConfig({}).publicBaseUrl).toBeUndefined();
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://Licensing.Example.com/' }).publicBaseUrl).toBe('https://licensing.example.com');
    expect(loadConfig({ PUBLIC_BASE_URL: 'http://10.0.0.5:8080/licensing//' }).publicBaseUrl).toBe('http://10.0.0.5:8080/licensing');
  });

  it('reads TRUST_PROXY as off, a hop count or a list that Express accepts', () => {
    expect(loadConfig({}).corsAllowedOrigins).toEqual([]);
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: ' * ' }).corsAllowedOrigins).toEqual(['*']);
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173' }).corsAllowedOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    const list = loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,192.168.1.7, fd00::/8, ::1, uniquelocal, linklocal' }).trustProxy;
    expect(list).toEqual(['loopback', '10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1', 'uniquelocal', 'linklocal']);
    // Express compiles the value when it is set: every accepted form must compile.
    expect(() => express().set('trust proxy', list)).not.toThrow();
  });

  it('keeps the embedded engine in memory on request', () => {
    expect(loadConfig({ EMBEDDED_DB_IN_MEMORY: 'true' }).embeddedDataDir).toBeUndefined();
    expect(loadConfig({ DATA_DIR: '/var/lib/licensing' }).embeddedDataDir).toBe('/var/lib/licensing');
  });
});
