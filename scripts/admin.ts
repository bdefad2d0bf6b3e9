/**
 * `npm run admin -- <command> [options]`: operates the server's database (accounts, credentials, demo
 * data) through the domain services, with the same environment as `npm start` (MONGODB_URI,
 * MONGODB_DB_NAME, DATA_DIR, SECRETS_KEY, BOOTSTRAP_ACCOUNT_NAME). Works while the server runs: with
 * MONGODB_URI it is one more client of that database; with the embedded engine it connects as a second
 * client to the engine of the running server (the address that server publishes in
 * DATA_DIR/engine.json), or opens DATA_DIR itself when no server holds it. See README, "Operating the
 * server". Exit codes: 0 done, 1 refused or failed (one line on stderr), 2 usage or configuration error.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { credentialLines } from '../server/bootstrap.js';
import { ConfigError, loadConfig, type Config } from '../server/config.js';
import { DataDirInUse, openSharedDatabase } from '../server/db/connection.js';
import type { CredentialSummary, NewCredentialSecrets } from '../server/domain/accounts.js';
import { isDomainError } from '../server/domain/errors.js';
import { CREDENTIAL_KINDS, type Account, type CredentialKind } from '../server/domain/types.js';
import { createLogger } from '../server/logger.js';
import { chooseSecretsKey, settleSecretsKey } from '../server/secrets-key.js';
import { createServices, type Services } from '../server/services.js';

/** A wrong command line: its message and the usage go to stderr, exit code 2. */
class UsageError extends Error {}

/** The command refuses (nothing to do, nothing changed): one line on stderr, exit code 1. */
class Refusal extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Context {
  services: Services;
  config: Config;
  out: (line?: string) => void;
}

interface Command {
  /** `accounts list`, `demo`, ... */
  name: string;
  summary: string;
  /** The usage text after the `Usage:` line. */
  help: string[];
  args?: string;
  options: Options;
  /** Options that must be given. */
  required?: string[];
  run(ctx: Context, values: Values): Promise<void>;
}

const KIND_HELP = '--kind <kind>      management (Management API key), license-api (License API key and its shared key,\n                     a pair) or v3-token (Web API v3 access token)';
/** The options of the commands on one kind of one account's credentials, and their help lines. */
const ACCOUNT_AND_KIND = { options: { account: { type: 'string' }, kind: { type: 'string' } }, required: ['account', 'kind'] } satisfies Pick<Command, 'options' | 'required'>;
const ACCOUNT_AND_KIND_HELP = ['', '  --account <id>     the account (required)', `  ${KIND_HELP}`];

const CACHE_NOTE = 'A running server reuses a License API key it has seen for up to 10 s (its cache):\nan old License API key keeps working that long there.';

function accountId(values: Values): number {
  const raw = values.account;
  if (typeof raw !== 'string' || !/^\d{1,16}$/.test(raw)) throw new UsageError(raw === undefined ? '--account <id> is required' : `--account: not an account id: ${String(raw)}`);
  return Number(raw);
}

function kind(values: Values): CredentialKind {
  const raw = values.kind;
  if (typeof raw !== 'string') throw new UsageError('--kind <kind> is required');
  if (!(CREDENTIAL_KINDS as readonly string[]).includes(raw)) throw new UsageError(`--kind: ${raw} is none of ${CREDENTIAL_KINDS.join(', ')}`);
  return raw as CredentialKind;
}

function secretLines(secrets: NewCredentialSecrets): string[] {
  const { kind: _kind, ...values } = secrets;
  return credentialLines(values).map((line) => `  ${line}`);
}

function summaryLines(summaries: CredentialSummary[]): string[] {
  return CREDENTIAL_KINDS.flatMap((k) => {
    const mine = summaries.filter((s) => s.kind === k);
    if (mine.length === 0) return [`  ${k.padEnd(12)} (none)`];
    return mine.map((s) => `  ${k.padEnd(12)} ${s.fingerprint}  created ${s.createdAt?.toISOString() ?? '(unknown)'}`);
  });
}

function describeAccount(account: Account): string {
  return `account ${account.id} "${account.name}" (created ${account.createdAt.toISOString()})`;
}

const ONCE = 'shown only this once (the database keeps hashes, the shared key sealed)';

const COMMANDS: Command[] = [
  {
    name: 'accounts list',
    summary: 'list every account (id, name, creation time), oldest first',
    help: ['Prints one line per account: its id, name and creation time, oldest first.'],
    options: {},
    async run({ services, out }) {
      const accounts = await services.accounts.listAccounts();
      if (accounts.length === 0) out('No accounts yet (npm start creates the demo account; or: npm run admin -- accounts create --name <name>).');
      for (const account of accounts) out(`${account.id}  ${account.name}  ${account.createdAt.toISOString()}`);
    },
  },
  {
    name: 'accounts create',
    summary: 'create an account with a new credential of every kind (shown once)',
    help: [
      'Creates an account with one credential of every kind and a signing key, and prints the',
      `credentials, ${ONCE}.`,
      '',
      '  --name <name>      the account\'s name (required; no other account may have it)',
    ],
    options: { name: { type: 'string' } },
    required: ['name'],
    async run({ services, out }, values) {
      const { account, credentials } = await services.accounts.openAccount(String(values.name));
      out(`Created ${describeAccount(account)}. Its credentials are ${ONCE}:`);
      out(`  account id:          ${account.id}`);
      for (const line of credentialLines(credentials)) out(`  ${line}`);
    },
  },
  {
    name: 'credentials list',
    summary: "list an account's credentials (kind, fingerprint, creation time; never the secrets)",
    help: [
      "Lists an account's credentials by kind: each one's fingerprint (the first 12 hex digits of the",
      "SHA-256 of its secret: printf %s \"$KEY\" | sha256sum | cut -c1-12) and creation time. The",
      'secrets themselves are not stored and cannot be shown.',
      '',
      '  --account <id>     the account (required)',
    ],
    options: { account: { type: 'string' } },
    required: ['account'],
    async run({ services, out }, values) {
      const id = accountId(values);
      const account = await services.accounts.getAccount(id);
      out(`Credentials of ${describeAccount(account)}:`);
      for (const line of summaryLines(await services.accounts.listCredentials(id))) out(line);
    },
  },
  {
    name: 'credentials create',
    summary: 'add a credential of one kind beside the existing ones (shown once)',
    help: [
      'Adds a new credential of one kind to an account; the ones it has keep working. The new secret',
      `is ${ONCE}.`,
      ...ACCOUNT_AND_KIND_HELP,
    ],
    ...ACCOUNT_AND_KIND,
    async run({ services, out }, values) {
      const [id, k] = [accountId(values), kind(values)];
      const { secrets, fingerprint } = await services.accounts.addCredential(id, k);
      out(`Added a ${k} credential (fingerprint ${fingerprint}) to account ${id}, ${ONCE}:`);
      for (const line of secretLines(secrets)) out(line);
    },
  },
  {
    name: 'credentials rotate',
    summary: 'replace every credential of one kind with a new one (shown once)',
    help: [
      'Replaces all of an account\'s credentials of one kind with one new credential, in one update: the',
      'old ones stop working at once. The new secret is',
      `${ONCE}.`,
      CACHE_NOTE,
      ...ACCOUNT_AND_KIND_HELP,
    ],
    ...ACCOUNT_AND_KIND,
    async run({ services, out }, values) {
      const [id, k] = [accountId(values), kind(values)];
      const { secrets, fingerprint, replaced } = await services.accounts.rotateCredential(id, k);
      out(`Rotated the ${k} credential of account ${id}: ${replaced.length ? `replaced ${replaced.join(', ')}` : 'it had none'}; the new one (fingerprint ${fingerprint}) is ${ONCE}:`);
      for (const line of secretLines(secrets)) out(line);
      if (k === 'license-api') out(CACHE_NOTE);
    },
  },
  {
    name: 'credentials revoke',
    summary: 'revoke the credentials of one kind (all, or one by --fingerprint)',
    help: [
      "Revokes an account's credentials of one kind: all of them, or the one whose fingerprint starts",
      'with --fingerprint (see credentials list). An account may be left without any credential of a',
      'kind: the API that takes it then answers as for an unknown key (401; License API: 400).',
      CACHE_NOTE,
      ...ACCOUNT_AND_KIND_HELP,
      '  --fingerprint <f>  revoke only the credential with this fingerprint (or a unique prefix of it)',
    ],
    options: { ...ACCOUNT_AND_KIND.options, fingerprint: { type: 'string' } },
    required: ACCOUNT_AND_KIND.required,
    async run({ services, out }, values) {
      const [id, k] = [accountId(values), kind(values)];
      const revoked = await services.accounts.revokeCredential(id, k, values.fingerprint as string | undefined);
      out(`Revoked ${revoked.length} ${k} credential${revoked.length === 1 ? '' : 's'} of account ${id}: ${revoked.join(', ')}`);
      if (k === 'license-api') out(CACHE_NOTE);
    },
  },
  {
    name: 'demo',
    summary: "show the demo account's id, name and which credentials it has",
    help: [
      "Shows the demo account (BOOTSTRAP_ACCOUNT_NAME's when set, else the oldest account: the one the",
      "first start created): its id, name and credentials' fingerprints. Its secrets were shown once, at",
      'that start, and cannot be shown again; make new ones with credentials rotate (or credentials create).',
    ],
    options: {},
    async run({ services, config, out }) {
      const account = await services.accounts.findAccount(config.bootstrap.accountName);
      if (!account) throw new Refusal(config.bootstrap.accountName ? `no account named "${config.bootstrap.accountName}" (BOOTSTRAP_ACCOUNT_NAME)` : 'no account yet: start the server once (npm start) to create the demo account');
      out(`Demo ${describeAccount(account)}`);
      out(`  account id:          ${account.id}`);
      out(`  name:                ${account.name}`);
      out('Its credentials (the secrets are stored only hashed or sealed and cannot be shown again):');
      for (const line of summaryLines(await services.accounts.listCredentials(account.id))) out(line);
      out(`New secrets: npm run admin -- credentials rotate --account ${account.id} --kind <management|license-api|v3-token>`);
    },
  },
  {
    name: 'seed',
    summary: 'add a demo product (two features) and a demo license to an account',
    help: [
      'Adds a demo product (an activation feature export-pdf and a monthly consumption feature',
      'api-calls, 1000 a month) and a consumption license (3 activations, 10,000 consumptions) to an',
      "account, and prints their ids and the license key. Without --account: BOOTSTRAP_ACCOUNT_NAME's",
      'account when set, else the oldest account. `npm run seed` is the same command.',
      '',
      '  --account <id>     the account to seed',
    ],
    options: { account: { type: 'string' } },
    async run({ services, config, out }, values) {
      const account =
        values.account !== undefined ? await services.accounts.getAccount(accountId(values)) : await services.accounts.findAccount(config.bootstrap.accountName);
      if (!account) {
        const which = config.bootstrap.accountName ? `named "${config.bootstrap.accountName}" (BOOTSTRAP_ACCOUNT_NAME)` : 'at all';
        throw new Refusal(`no account ${which}; start the server once (npm start) to create one, or: npm run admin -- accounts create --name <name>`);
      }
      const suffix = randomBytes(3).toString('hex');
      const product = await services.products.createProduct(account.id, { name: 'Demo app', shortCode: `demo-${suffix}` });
      const activation = await services.products.addFeature(account.id, product.id, { code: 'export-pdf', name: 'Export to PDF', featureType: 'activation' });
      const consumption = await services.products.addFeature(account.id, product.id, {
        code: 'api-calls',
        name: 'API calls',
        featureType: 'consumption',
        maxConsumption: 1000,
        resetConsumption: true,
        consumptionPeriod: 'monthly',
      });
      const license = await services.licenses.createLicense(account.id, { productId: product.id, type: 'consumption', maxActivations: 3, consumption: { max: 10_000 } });
      out(`Seeded account "${account.name}" (id ${account.id}):`);
      out(`  product:              id ${product.id}, short code ${product.shortCode}`);
      out(`  activation feature:   id ${activation.id}, code ${activation.code}`);
      out(`  consumption feature:  id ${consumption.id}, code ${consumption.code} (1000 per month)`);
      out(`  license:              id ${license.id}, key ${license.key}`);
      out();
      out(`Try: curl -H 'Authorization: Api-Key <management key>' http://localhost:${config.port}/api/v1/licenses/${license.id}/`);
    },
  },
  {
    name: 'ledger retain',
    summary: 'summarise the ledger entries older than LEDGER_RETENTION_DAYS into rollups, then delete them',
    help: [
      "Runs one pass of the server's ledger retention job now (the server runs it every",
      'LEDGER_RETENTION_INTERVAL_MS): the entries older than LEDGER_RETENTION_DAYS days are summarised into',
      '15-minute rollups, which the usage reports read, and deleted. Refused while the retention is',
      '"forever" (the default). Safe while servers run theirs.',
    ],
    options: {},
    async run({ services, config, out }) {
      const horizon = services.ledgerRetention.horizon();
      if (!horizon) throw new Refusal('LEDGER_RETENTION_DAYS is "forever" (the default): every ledger entry is kept, nothing to summarise');
      const pass = await services.ledgerRetention.run();
      const until = pass.summarisedBefore ? pass.summarisedBefore.toISOString() : 'nothing yet';
      out(`Ledger summarised before ${until} (LEDGER_RETENTION_DAYS=${config.ledgerRetention.days}): ${pass.rollups} rollups written, ${pass.deleted} entries deleted`);
    },
  },
];

const GROUPS = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]!))];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: npm run admin -- <command> [options]      (every command takes --help)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'The database is the server\'s (same environment as npm start: MONGODB_URI, MONGODB_DB_NAME,',
    'DATA_DIR, SECRETS_KEY). With the embedded engine the command connects to the running server\'s',
    'engine (DATA_DIR/engine.json), or opens DATA_DIR itself when no server runs.',
    'Exit codes: 0 done; 1 refused or failed (the reason on stderr); 2 wrong usage or configuration.',
  ].join('\n');
}

function usageOf(command: Command): string {
  const flags = Object.keys(command.options).map((name) => `--${name} <${name === 'account' ? 'id' : name}>`);
  return [`Usage: npm run admin -- ${command.name}${flags.length ? ` ${flags.join(' ')}` : ''}`, '', ...command.help, '  --help, -h         show this help'].join('\n');
}

function groupUsage(group: string): string {
  const mine = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [`Usage: npm run admin -- ${group} <${mine.map((c) => c.name.split(' ')[1]).join('|')}> [options]`, '', ...mine.map((c) => `  ${c.name.padEnd(20)}  ${c.summary}`)].join('\n');
}

/** Resolves the command line: the command and its parsed options, or a help text to print. */
function resolve(argv: string[]): { help: string } | { command: Command; values: Values } {
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const [first, second] = argv;
  if (first === undefined || first.startsWith('-')) {
    if (wantsHelp || first === undefined) {
      if (wantsHelp) return { help: overview() };
      throw new UsageError('no command given');
    }
    throw new UsageError(`unknown option ${first}`);
  }
  if (first === 'help') return { help: overview() };
  let command = COMMANDS.find((c) => c.name === first);
  let rest = argv.slice(1);
  if (!command && GROUPS.includes(first)) {
    if (second === undefined || second.startsWith('-')) {
      if (wantsHelp) return { help: groupUsage(first) };
      throw new UsageError(second === undefined ? `${first}: which one? ${groupUsage(first)}` : `${first}: unknown option ${second}`);
    }
    command = COMMANDS.find((c) => c.name === `${first} ${second}`);
    if (!command) throw new UsageError(`unknown command: ${first} ${second}`);
    rest = argv.slice(2);
  }
  if (!command) throw new UsageError(`unknown command: ${first}`);
  if (wantsHelp) return { help: usageOf(command) };
  try {
    const values = parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: false }).values as Values;
    check(command, values);
    return { command, values };
  } catch (err) {
    throw new UsageError(`${command.name}: ${(err as Error).message}\n\n${usageOf(command)}`);
  }
}

/** Checks the options' presence and form before the database is opened. */
function check(command: Command, values: Values): void {
  for (const name of command.required ?? []) if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  if (values.account !== undefined) accountId(values);
  if (values.kind !== undefined) kind(values);
  if (values.fingerprint !== undefined && !/^[0-9a-fA-F]{4,64}$/.test(String(values.fingerprint))) throw new UsageError('--fingerprint: 4 to 64 hex digits');
  if (values.name !== undefined && String(values.name).trim() === '') throw new UsageError('--name: may not be empty');
}

async function main(argv: string[]): Promise<number> {
  let resolved;
  try {
    resolved = resolve(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`admin: ${err.message}\n\n${err.message.includes('Usage:') ? '' : `${overview()}\n`}`);
    return 2;
  }
  if ('help' in resolved) {
    process.stdout.write(`${resolved.help}\n`);
    return 0;
  }
  const { command, values } = resolved;
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const keyChoice = chooseSecretsKey(config);
  let db;
  try {
    db = await openSharedDatabase({ uri: config.mongodbUri, dbName: config.mongodbDbName, embeddedDataDir: config.embeddedDataDir, logger, writeConcern: config.dbWriteConcern });
  } catch (err) {
    if (err instanceof DataDirInUse) throw new Refusal(`cannot reach the database: ${err.message}`);
    throw err;
  }
  try {
    const secretsKey = await settleSecretsKey(keyChoice, db, logger);
    const services = createServices(db, { secretsKey, logger, ledgerRetentionDays: config.ledgerRetention.days });
    await command.run({ services, config, out: (line = '') => process.stdout.write(`${line}\n`) }, values);
    return 0;
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`admin: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    const message = err instanceof Refusal || isDomainError(err) ? (err as Error).message : `failed: ${(err as Error).message}`;
    process.stderr.write(`admin: ${message}\n`);
    process.exit(1);
  },
);
