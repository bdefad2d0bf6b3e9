import { PactV4, SpecificationVersion } from '@pact-foundation/pact';
import type { Middleware } from 'openapi-fetch';
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

/**
 * Lets the mock server finish its bookkeeping before the test goes on. Pact's Rust mock server
 * records a matched request only after it has sent the response, so under CPU contention
 * `executeTest` can ask "was everything received?" before the record lands and fail with "The
 * following request was expected but not received" although the client got the right answer
 * (upstream: pact-foundation/pact-reference#535, pact-foundation/pact-js#1835; seen here ~1 run in
 * 3 with ~75 interactions on 2 shared cores). A short pause after each response makes that rare.
 */
const MOCK_SERVER_SETTLE_MS = 50;

/** The pause of settleAfterResponse, for a test that calls the mock server without the client. */
export const mockServerSettled = () => new Promise((resolve) => setTimeout(resolve, MOCK_SERVER_SETTLE_MS));

export const settleAfterResponse: Middleware = {
  async onResponse({ response }) {
    await mockServerSettled();
    return response;
  },
};

/** The real client, pointed at the Pact mock server, with the placeholder credentials. */
export function clientFor(mockServerUrl: string): LicensingClient {
  return createLicensingClient({
    baseUrl: mockServerUrl,
    managementApiKey: placeholderCredentials.managementApiKey,
    licenseApi: { ...placeholderCredentials.licenseApi },
    accessToken: placeholderCredentials.accessToken,
    middleware: [settleAfterResponse],
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
