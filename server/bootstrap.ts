import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Services } from './services.js';

/**
 * First start: with BOOTSTRAP_ACCOUNT_NAME, make sure that account exists with the given credentials;
 * on an empty database without it, create a demo account and print its credentials once (to the
 * terminal, never to the structured log).
 */
export async function bootstrapAccounts(config: Config, services: Services, logger: Logger, print: (text: string) => void): Promise<void> {
  const b = config.bootstrap;
  if (b.accountName) {
    const { account, created } = await services.accounts.ensureAccount(b.accountName, {
      ...(b.managementApiKey ? { managementApiKey: b.managementApiKey } : {}),
      ...(b.licenseApiKey ? { licenseApiKey: b.licenseApiKey } : {}),
      ...(b.sharedKey ? { sharedKey: b.sharedKey } : {}),
      ...(b.v3AccessToken ? { v3AccessToken: b.v3AccessToken } : {}),
    });
    logger.info({ accountId: account.id, created }, 'bootstrap account ensured');
    return;
  }
  if ((await services.accounts.countAccounts()) > 0) return;
  const { account, credentials } = await services.accounts.createAccount({ name: 'demo' });
  const base = config.publicBaseUrl ?? `http://localhost:${config.port}`;
  print(
    [
      '',
      '=== Demo account created (credentials are shown only this once) ===',
      `account id:          ${account.id}`,
      `management API key:  ${credentials.managementApiKey}`,
      `License API key:     ${credentials.licenseApiKey}`,
      `License shared key:  ${credentials.sharedKey}`,
      `v3 access token:     ${credentials.v3AccessToken}`,
      '',
      'Try it:',
      `  curl -H 'Authorization: Api-Key ${credentials.managementApiKey}' ${base}/api/v1/products/`,
      '',
    ].join('\n'),
  );
}
