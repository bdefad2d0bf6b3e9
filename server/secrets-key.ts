import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, type Config } from './config.js';
import type { Database } from './db/connection.js';
import { SealingKeyRepository } from './db/sealing-key-repository.js';
import { SealingKeyCheck, type SealingKeyState } from './domain/sealing-key.js';
import { SecretBox } from './domain/secrets.js';
import type { Logger } from './logger.js';

/** The name of the key file inside DATA_DIR. */
export const SECRETS_KEY_FILE = 'secrets.key';

/** The key that seals recoverable secrets, as chosen before the database is opened. */
export interface SecretsKeyChoice {
  key: string;
  /**
   * `env`: SECRETS_KEY. `file`: DATA_DIR/secrets.key. `old-file`: secrets.key in the parent of
   * DATA_DIR, where earlier versions kept it (moved in once the database accepts it). `new`: a new
   * random key for DATA_DIR/secrets.key (written once the database accepts it). `memory`: a random
   * key for a memory-only engine.
   */
  origin: 'env' | 'file' | 'old-file' | 'new' | 'memory';
  /** DATA_DIR/secrets.key (absolute), with the embedded engine on disk. */
  file?: string;
  /** The parent of DATA_DIR's secrets.key, when origin is `old-file`. */
  oldFile?: string;
}

/** The sealing key does not open what the database holds: start-up is refused (exit code 2, like a configuration error). */
export class SecretsKeyMismatch extends ConfigError {
  override name = 'SecretsKeyMismatch';
}

function isSecretsKey(text: string): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(text) && Buffer.from(text, 'base64').length === 32;
}

function newKey(): string {
  return randomBytes(32).toString('base64');
}

/** Reads a key file, narrowing its mode to 0600 when it is wider. */
function readKeyFile(file: string): string {
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const key = readFileSync(file, 'utf8').trim();
  if (!isSecretsKey(key)) throw new ConfigError(`the secrets key file ${file} does not hold the base64 of 32 bytes`);
  return key;
}

/**
 * Chooses the sealing key: SECRETS_KEY when set (required with MONGODB_URI); with the embedded engine
 * on disk, DATA_DIR/secrets.key, else the one earlier versions kept in the parent of DATA_DIR, else a
 * new one; a random one for a memory-only engine. Nothing is written here: see `settleSecretsKey`.
 */
export function chooseSecretsKey(config: Config): SecretsKeyChoice {
  if (config.secretsKey) return { key: config.secretsKey, origin: 'env' };
  if (config.mongodbUri) {
    throw new ConfigError('SECRETS_KEY is required with MONGODB_URI (the base64 of 32 random bytes: openssl rand -base64 32)');
  }
  if (!config.embeddedDataDir) return { key: newKey(), origin: 'memory' };
  const dataDir = resolve(config.embeddedDataDir);
  const file = join(dataDir, SECRETS_KEY_FILE);
  if (existsSync(file)) return { key: readKeyFile(file), origin: 'file', file };
  const oldFile = join(dirname(dataDir), SECRETS_KEY_FILE);
  if (existsSync(oldFile)) return { key: readKeyFile(oldFile), origin: 'old-file', file, oldFile };
  return { key: newKey(), origin: 'new', file };
}

/** Makes a new or moved directory entry durable (before the canary that relies on it is written). */
function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported on every platform
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `key` to `file` (0600, fsynced) unless the file exists; returns the key the file holds. */
function writeKeyFile(file: string, key: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(file);
    throw err;
  }
  try {
    writeSync(fd, `${key}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDirectory(dirname(file));
  return key;
}

/** Moves the key file from the parent of DATA_DIR into it (a copy and a delete across file systems). */
function moveKeyFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(from, to);
    const fd = openSync(to, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(from);
  }
  chmodSync(to, 0o600);
  fsyncDirectory(dirname(to));
  fsyncDirectory(dirname(from));
}

function mismatchMessage(choice: SecretsKeyChoice, against: 'canary' | 'secret'): string {
  const detail =
    against === 'canary'
      ? 'its canary, sealed with the key in use at its first start, does not open'
      : 'a stored shared key, signing key or webhook secret does not open';
  const what = `the secrets sealed in this database (${detail})`;
  const refusal = 'Without that key no stored shared key, signing key or webhook secret can be used, so the server does not start.';
  const file = choice.file ?? SECRETS_KEY_FILE;
  switch (choice.origin) {
    case 'env':
      return `SECRETS_KEY does not open ${what}. Set SECRETS_KEY to the key that goes with this database. ${refusal}`;
    case 'file':
      return `the secrets key file ${file} does not open ${what}. Restore the ${SECRETS_KEY_FILE} that goes with this database (it is backed up with DATA_DIR), or set SECRETS_KEY to that key. ${refusal}`;
    case 'old-file':
      return `the secrets key file ${choice.oldFile} (beside DATA_DIR, where earlier versions kept it) does not open ${what}; it was left where it is. Put the key that goes with this database into ${file}, or set SECRETS_KEY to it. ${refusal}`;
    default:
      return `the secrets key file ${file} is missing, but this database holds secrets sealed with another key (${detail} with a new key). Restore ${file} from the backup of DATA_DIR, or set SECRETS_KEY to the key that goes with this database; no new key was written. ${refusal}`;
  }
}

/**
 * Checks the chosen key against the database and makes the choice durable: the database's canary
 * (or, before it has one, one of its sealed secrets) must open with the key, else start-up is refused
 * with SecretsKeyMismatch. A key from the parent of DATA_DIR is moved in (one log line) only when it
 * opens what the database holds; beside a database that holds nothing sealed it is ignored and a new
 * key is made. A new key is written (0600) only to a database that holds nothing sealed. Finally the
 * canary is written when missing. Returns the key to seal with.
 */
export async function settleSecretsKey(choice: SecretsKeyChoice, db: Database, logger: Logger, now: Date = new Date()): Promise<string> {
  const check = new SealingKeyCheck(new SealingKeyRepository(db.models));
  let key = choice.key;
  let origin = choice.origin;
  const state: SealingKeyState = await check.inspect(new SecretBox(key));
  if (state.kind === 'mismatch') throw new SecretsKeyMismatch(mismatchMessage(choice, state.against));
  if (origin === 'old-file') {
    if (state.kind === 'empty') {
      logger.warn({ ignored: choice.oldFile, file: choice.file }, 'secrets key file beside the data directory ignored: this database holds nothing sealed with it; a new key is made inside the data directory');
      key = newKey();
      origin = 'new';
    } else {
      moveKeyFile(choice.oldFile!, choice.file!);
      logger.info({ from: choice.oldFile, to: choice.file }, 'secrets key file moved into the data directory');
    }
  }
  if (origin === 'new') {
    key = writeKeyFile(choice.file!, key);
    logger.info({ file: choice.file }, 'secrets key created');
  }
  if (!(await check.establish(new SecretBox(key), now))) throw new SecretsKeyMismatch(mismatchMessage({ ...choice, origin }, 'canary'));
  return key;
}
