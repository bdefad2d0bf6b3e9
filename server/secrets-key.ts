import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, type Config } from './config.js';

/**
 * The key that seals recoverable secrets. Production (MONGODB_URI) must set SECRETS_KEY; the
 * embedded engine keeps one beside its data (created on first start), or a random one in memory.
 */
export function resolveSecretsKey(config: Config): string {
  if (config.secretsKey) return config.secretsKey;
  if (config.mongodbUri) {
    throw new ConfigError('SECRETS_KEY is required with MONGODB_URI (the base64 of 32 random bytes: openssl rand -base64 32)');
  }
  if (!config.embeddedDataDir) return randomBytes(32).toString('base64');
  const file = join(dirname(resolve(config.embeddedDataDir)), 'secrets.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
