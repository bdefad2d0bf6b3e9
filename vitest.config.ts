import { defineConfig } from 'vitest/config';

/**
 * Five projects, run one group after the other by a single `vitest run` (`npm test`, one summary):
 * `default` (the app's suites in test/ and the engine's own tests in server/db/embedded/test/, two
 * files at a time: most of them wait on sockets and child processes) together with `interop`
 * (test/interop/: clients other tools generate from the spec, compiled and run against a live
 * server; `npm run test:interop` runs it alone), then `load` (the suites that
 * load the machine on purpose: crashes, races and fault injection, one file at a time so none of them
 * shares the CPU), then `contracts-consumer` (the client against the Pact mock server; writes the pact
 * files in contracts/), then `contracts-provider` (verifies them against the real server, and checks
 * that every operation of the spec has interactions).
 */
const LOAD_SUITES = [
  'test/faults/**/*.test.ts',
  'test/scale/*-race.test.ts',
  'test/webhooks/dispatchers.test.ts',
  'test/webhooks/crash.test.ts',
  'test/v4/concurrency.test.ts',
  'test/v4/consumption-alerts.test.ts',
  'test/v3/meter-attributes.test.ts',
  'test/v3/consumption-alerts.test.ts',
  'test/v3/meter-attributes-idempotency.test.ts',
  'test/v3/crash.test.ts',
  'test/v3/lease-crash.test.ts',
  'test/hardening/server-processes.test.ts',
  'test/hardening/database-outage.test.ts',
  'test/domain/consumption.test.ts',
  'test/domain/outbox-settler.test.ts',
  'server/db/embedded/test/crash.test.ts',
  'server/db/embedded/test/concurrency.test.ts',
];
const shared = {
  environment: 'node' as const,
  pool: 'forks' as const,
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // Rate limits off also in servers that tests start as child processes (they inherit this env); Pact's anonymous usage tracking off.
  env: { NODE_ENV: 'test', RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0', PACT_DO_NOT_TRACK: 'true' },
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
          exclude: ['test/contracts/**', 'test/interop/**', '**/node_modules/**', ...LOAD_SUITES],
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...shared,
          name: 'interop',
          // Runs beside `default` (same group): vitest requires the same maxWorkers within a group.
          sequence: { groupOrder: 0 },
          maxWorkers: 2,
          include: ['test/interop/**/*.test.ts'],
          // Generating and compiling the clients (cached under node_modules/.cache/interop) takes a while on a cold cache.
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'load',
          sequence: { groupOrder: 1 },
          include: LOAD_SUITES,
          fileParallelism: false,
        },
      },
      {
        test: {
          ...shared,
          name: 'contracts-consumer',
          sequence: { groupOrder: 2 },
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
          sequence: { groupOrder: 3 },
          include: ['test/contracts/provider/**/*.test.ts', 'test/contracts/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
        },
      },
    ],
  },
});
