import type { Config } from './config.js';
import type { AccountCredentials } from './domain/accounts.js';
import type { Logger } from './logger.js';
import type { Services } from './services.js';

/** The demo account's one-time banner for the URL the server is reached at (known once it listens). */
export type DemoBanner = (baseUrl: string) => string;

/** The labels a new credential's secrets are shown with (the demo banner, the admin CLI). */
const CREDENTIAL_LABELS: Record<keyof AccountCredentials, string> = {
  managementApiKey: 'management API key:  ',
  licenseApiKey: 'License API key:     ',
  sharedKey: 'License shared key:  ',
  v3AccessToken: 'v3 access token:     ',
};

/** One line per secret given, labelled as in the demo banner. */
export function credentialLines(credentials: Partial<AccountCredentials>): string[] {
  return (Object.keys(CREDENTIAL_LABELS) as Array<keyof AccountCredentials>).flatMap((name) => (credentials[name] ? [`${CREDENTIAL_LABELS[name]}${credentials[name]}`] : []));
}

/**
 * First start: with BOOTSTRAP_ACCOUNT_NAME, make sure that account exists with the given credentials;
 * on an empty database without it, create a demo account and return the banner with its credentials,
 * to be printed once (to the terminal, never to the structured log) when the port is known.
 */
export async function bootstrapAccounts(config: Config, services: Services, logger: Logger): Promise<DemoBanner | undefined> {
  const b = config.bootstrap;
  if (b.accountName) {
    const { account, created } = await services.accounts.ensureAccount(b.accountName, {
      ...(b.managementApiKey ? { managementApiKey: b.managementApiKey } : {}),
      ...(b.licenseApiKey ? { licenseApiKey: b.licenseApiKey } : {}),
      ...(b.sharedKey ? { sharedKey: b.sharedKey } : {}),
      ...(b.v3AccessToken ? { v3AccessToken: b.v3AccessToken } : {}),
    });
    logger.info({ accountId: account.id, created }, 'bootstrap account ensured');
    return undefined;
  }
  if ((await services.accounts.countAccounts()) > 0) return undefined;
  const { account, credentials } = await services.accounts.createAccount({ name: 'demo' });
  return (base) =>
    [
      '',
      '=== Demo account created (credentials are shown only this once) ===',
      `account id:          ${account.id}`,
      ...credentialLines(credentials),
      '',
      'Try it:',
      `  curl -H 'Authorization: Api-Key ${credentials.managementApiKey}' ${base}/api/v1/products/`,
      '',
    ].join('\n');
}
