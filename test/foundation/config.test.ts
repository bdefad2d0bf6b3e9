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
  ])('rejects %o with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('keeps the embedded engine in memory on request', () => {
    expect(loadConfig({ EMBEDDED_DB_IN_MEMORY: 'true' }).embeddedDataDir).toBeUndefined();
    expect(loadConfig({ DATA_DIR: '/var/lib/licensing' }).embeddedDataDir).toBe('/var/lib/licensing');
  });
});
