import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { VerifierOptions } from '@pact-foundation/pact';
import { contractsDir, PROVIDER } from '../support/pact-setup.js';

/** Every pact file committed in `contracts/`. */
export function localPactFiles(dir = contractsDir): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * Where the pacts come from: the committed files in `contracts/`, or, when `PACT_BROKER_BASE_URL` is
 * set, a Pact Broker (token or basic auth from `PACT_BROKER_TOKEN` / `PACT_BROKER_USERNAME` +
 * `PACT_BROKER_PASSWORD`; results published when `PACT_PUBLISH_VERIFICATION_RESULTS=true` with
 * `PACT_PROVIDER_VERSION` and `PACT_PROVIDER_BRANCH`).
 */
export function pactSource(env: NodeJS.ProcessEnv = process.env): Partial<VerifierOptions> {
  const brokerUrl = env.PACT_BROKER_BASE_URL;
  if (!brokerUrl) return { pactUrls: localPactFiles() };
  const publish = env.PACT_PUBLISH_VERIFICATION_RESULTS === 'true';
  return {
    pactBrokerUrl: brokerUrl,
    ...(env.PACT_BROKER_TOKEN ? { pactBrokerToken: env.PACT_BROKER_TOKEN } : {}),
    ...(env.PACT_BROKER_USERNAME ? { pactBrokerUsername: env.PACT_BROKER_USERNAME, pactBrokerPassword: env.PACT_BROKER_PASSWORD ?? '' } : {}),
    consumerVersionSelectors: [{ mainBranch: true }, { deployedOrReleased: true }, { matchingBranch: true }],
    enablePending: true,
    publishVerificationResult: publish,
    ...(publish ? { providerVersion: env.PACT_PROVIDER_VERSION ?? 'unknown', providerVersionBranch: env.PACT_PROVIDER_BRANCH ?? 'main' } : {}),
    provider: PROVIDER,
  };
}
