import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

describe('WEB_CONCURRENCY (cluster mode)', () => {
  it('defaults to one process', () => {
    expect(loadConfig({}).webConcurrency).toBe(0);
  });

  it('takes a worker count with MONGODB_URI', () => {
    expect(loadConfig({ WEB_CONCURRENCY: '2', MONGODB_URI: 'mongodb://127.0.0.1:27017' }).webConcurrency).toBe(2);
  });

  it('needs MONGODB_URI: workers must share one database', () => {
    expect(() => loadConfig({ WEB_CONCURRENCY: '2' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEB_CONCURRENCY: '2' })).toThrow(/MONGODB_URI/);
    expect(() => loadConfig({ WEB_CONCURRENCY: 'many', MONGODB_URI: 'mongodb://h' })).toThrow(/WEB_CONCURRENCY/);
  });
});
