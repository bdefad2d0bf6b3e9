import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { createLogger } from '../../server/logger.js';
import { listenOnFreePort, type RunningApp } from '../support/http.js';

/**
 * express-openapi-validator finds a request's operation by matching its path against every route of
 * the spec. Upstream it compiles each route's regexp (path-to-regexp) anew for every request; the
 * patch in patches/ (applied by `npm install` through patch-package) compiles each once. This test
 * counts compilations: it fails when the patch is not applied.
 */
const require = createRequire(import.meta.url);
const validatorEntry = require.resolve('express-openapi-validator');
const pathToRegexpModule = require(require.resolve('path-to-regexp', { paths: [validatorEntry] })) as { pathToRegexp: (...args: unknown[]) => unknown };

describe('request validation route lookup', () => {
  let running: RunningApp;
  let compilations = 0;
  const original = pathToRegexpModule.pathToRegexp;

  beforeAll(async () => {
    pathToRegexpModule.pathToRegexp = (...args: unknown[]) => {
      compilations += 1;
      return original(...args);
    };
    running = await listenOnFreePort(createApp({ logger: createLogger('silent'), validateResponses: false, checkReadiness: async () => true }));
  });
  afterAll(async () => {
    pathToRegexpModule.pathToRegexp = original;
    await running.close();
  });

  it('compiles each route once, not once per request, and still finds the route', async () => {
    // A documented operation with an undocumented query parameter: found, validated and refused.
    const url = `${running.baseUrl}/api/v4/check_license?undocumented=1`;
    const first = await fetch(url);
    expect(first.status).toBe(400);
    expect(((await first.json()) as { message: string }).message).toContain("Unknown query parameter 'undocumented'");
    const afterFirst = compilations;
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 20; i += 1) expect((await fetch(url)).status).toBe(400);
    expect(compilations).toBe(afterFirst);
  });
});
