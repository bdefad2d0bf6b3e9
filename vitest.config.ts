import { defineConfig } from 'vitest/config';

/**
 * Three projects, run in this order by `npm test`: `default` (everything but the contracts), then
 * `contracts-consumer` (writes the pact files in contracts/), then `contracts-provider` (verifies
 * them against the real server, and checks that every operation of the spec has interactions).
 */
const shared = {
  environment: 'node' as const,
  pool: 'forks' as const,
  testTimeout: 30_000,
  hookTimeout: 60_000,
  env: { NODE_ENV: 'test' },
};

export default defineConfig({
  test: {
    projects: [
      {
        test: { ...shared, name: 'default', include: ['test/**/*.test.ts'], exclude: ['test/contracts/**', '**/node_modules/**'] },
      },
      {
        test: {
          ...shared,
          name: 'contracts-consumer',
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
          include: ['test/contracts/provider/**/*.test.ts', 'test/contracts/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
        },
      },
    ],
  },
});
