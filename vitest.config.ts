import { defineConfig } from 'vitest/config';

/**
 * Three projects, run one group after the other by a single `vitest run` (`npm test`, one summary):
 * `default` (everything but the contracts, and the engine's tests in server/db/embedded/test/), then `contracts-consumer` (the client against the Pact
 * mock server; writes the pact files in contracts/), then `contracts-provider` (verifies them
 * against the real server, and checks that every operation of the spec has interactions).
 */
const shared = {
  environment: 'node' as const,
  pool: 'forks' as const,
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // Rate limits off also in servers that tests start as child processes (they inherit this env).
  env: { NODE_ENV: 'test', RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0' },
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'default',
          sequence: { groupOrder: 0 },
          // The app's suites in test/, and the embedded engine's own tests beside it (server/db/embedded/test/).
          include: ['test/**/*.test.ts', 'server/db/embedded/test/**/*.test.ts'],
          exclude: ['test/contracts/**', '**/node_modules/**'],
        },
      },
      {
        test: {
          ...shared,
          name: 'contracts-consumer',
          sequence: { groupOrder: 1 },
          include: ['test/contracts/consumer/**/*.test.ts'],
          globalSetup: ['test/contracts/consumer/global-setup.ts'],
          // One pact file shared by every consumer test file: write it from one file at a time.
          fileParallelism: false,
        },
      },
      {
        test: {
          ...shared,
          name: 'contracts-provider',
          sequence: { groupOrder: 2 },
          include: ['test/contracts/provider/**/*.test.ts', 'test/contracts/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
        },
      },
    ],
  },
});
