import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pact participant names: the typed client in `client/` is the consumer, the server the provider. */
export const CONSUMER = 'licensing-client';
export const PROVIDER = 'licensing-api';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Committed pact files (written by the consumer tests, verified by the provider tests). */
export const contractsDir = join(repoRoot, 'contracts');
export const pactFile = join(contractsDir, `${CONSUMER}-${PROVIDER}.json`);
export const bundledSpecPath = join(repoRoot, 'generated', 'openapi.json');

/**
 * Placeholder credentials the consumer tests give the client. The provider's request filter swaps
 * exactly these for the seeded account's real credentials; any other value (a deliberately wrong
 * key in an `invalid_api_key` or 401 interaction) reaches the server untouched.
 */
export const placeholderCredentials = {
  managementApiKey: 'pact-management-api-key',
  licenseApi: { apiKey: 'pact-license-api-key', sharedKey: 'pact-shared-key' },
  accessToken: 'pact-v3-access-token',
} as const;
