/**
 * Provider verification: every interaction of every pact in `contracts/` (or the Pact Broker when
 * PACT_BROKER_BASE_URL is set) replayed against the real server, each after its provider state was
 * seeded through the domain services.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

describe('provider verification (licensing-api)', () => {
  let harness: ProviderHarness;
  beforeAll(async () => {
    harness = await startProviderHarness();
  });
  afterAll(async () => harness?.stop());

  it('honours every interaction the client relies on', async () => {
    await harness.verify();
  });
});
