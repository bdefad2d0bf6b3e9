import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Verifier } from '@pact-foundation/pact';
import { startTestServer, type TestServer } from '../../support/server.js';
import { PROVIDER } from '../support/pact-setup.js';
import { AccountPool } from './account-pool.js';
import { credentialsRequestFilter } from './request-filter.js';
import { createStateHandlers, loudStateHandlers, type ProviderContext, type StateFailure } from './state-handlers.js';
import { pactSource } from './verifier-options.js';

export interface ProviderHarness {
  ctx: ProviderContext;
  /**
   * Verifies the given pacts (default: `contracts/`, or the broker when PACT_BROKER_BASE_URL is set)
   * against `providerBaseUrl` (default: the real server). Rejects on any mismatch, and on any state
   * handler failure or unknown provider state even when Pact itself carried on.
   */
  verify(options?: { pactUrls?: string[]; providerBaseUrl?: string }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Pact only warns about a provider state without a handler; the state-change call passes through
 * the request filter first, so that is where an unknown state is caught.
 */
function unknownStateGuard(known: Set<string>, failures: StateFailure[]): RequestHandler {
  return (req, _res, next) => {
    const body = req.body as { state?: unknown; action?: unknown } | undefined;
    if (body && body.action === 'setup' && typeof body.state === 'string' && !known.has(body.state)) {
      failures.push({ state: body.state, error: 'no state handler for this provider state' });
    }
    next();
  };
}

/**
 * The real server (embedded engine, response validation on) wired for Pact verification, with a pool
 * of fresh accounts created ahead of time (the same SECRETS_KEY seals their secrets).
 */
export async function startProviderHarness(): Promise<ProviderHarness> {
  const secretsKey = randomBytes(32).toString('base64');
  const server: TestServer = await startTestServer({ env: { SECRETS_KEY: secretsKey } });
  const accounts = await AccountPool.open(server.server.db.uri, server.server.db.connection.name, secretsKey);
  const ctx: ProviderContext = { server, accounts };
  return {
    ctx,
    async verify(options = {}) {
      const failures: StateFailure[] = [];
      const handlers = createStateHandlers(ctx);
      const guard = unknownStateGuard(new Set(Object.keys(handlers)), failures);
      const credentials = credentialsRequestFilter(ctx);
      const source = options.pactUrls ? { pactUrls: options.pactUrls } : pactSource();
      let verificationError: unknown;
      try {
        await new Verifier({
          provider: PROVIDER,
          providerBaseUrl: options.providerBaseUrl ?? server.baseUrl,
          ...source,
          stateHandlers: loudStateHandlers(handlers, failures),
          requestFilter: (req, res, next) => guard(req, res, () => credentials(req, res, next)),
          logLevel: (process.env.PACT_LOG_LEVEL as 'warn' | undefined) ?? 'warn',
          failIfNoPactsFound: true,
        }).verifyProvider();
      } catch (err) {
        verificationError = err;
      }
      if (failures.length > 0) {
        throw new Error(`provider state setup failed: ${failures.map((f) => `"${f.state}": ${f.error}`).join('; ')}`, { cause: verificationError });
      }
      if (verificationError) throw verificationError;
    },
    async stop() {
      await accounts.close();
      await server.stop();
    },
  };
}
