import { PactV4, SpecificationVersion } from '@pact-foundation/pact';
import { createLicensingClient, LicensingApiError, type LicensingClient } from '../../../client/index.js';
import { CONSUMER, contractsDir, placeholderCredentials, PROVIDER } from '../support/pact-setup.js';

/** The consumer pact: interactions are merged into `contracts/licensing-client-licensing-api.json`. */
export function createPact(): PactV4 {
  return new PactV4({
    consumer: CONSUMER,
    provider: PROVIDER,
    dir: contractsDir,
    spec: SpecificationVersion.SPECIFICATION_VERSION_V4,
    logLevel: (process.env.PACT_LOG_LEVEL as 'warn' | undefined) ?? 'warn',
  });
}

/** The real client, pointed at the Pact mock server, with the placeholder credentials. */
export function clientFor(mockServerUrl: string): LicensingClient {
  return createLicensingClient({
    baseUrl: mockServerUrl,
    managementApiKey: placeholderCredentials.managementApiKey,
    licenseApi: { ...placeholderCredentials.licenseApi },
    accessToken: placeholderCredentials.accessToken,
  });
}

/** Runs `fn`, expecting it to throw a `LicensingApiError` (what `unwrap()` throws on a non-2xx answer), and returns it. */
export async function expectApiError(fn: () => Promise<unknown>): Promise<LicensingApiError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof LicensingApiError)) throw new Error(`expected a LicensingApiError, got ${String(err)}`);
  return err;
}
