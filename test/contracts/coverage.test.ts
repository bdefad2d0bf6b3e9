/**
 * Every operation of the bundled spec has a success and a documented error interaction in the
 * committed pacts, and every interaction belongs to an operation and a known provider state.
 */
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStateHandlers } from './provider/state-handlers.js';
import { localPactFiles } from './provider/verifier-options.js';
import { coverage, interactionsOf, operationsOf, readJson } from './support/coverage.js';
import { bundledSpecPath } from './support/pact-setup.js';

const knownStates = new Set(Object.keys(createStateHandlers({} as never)));

describe('contract coverage', () => {
  it('every operationId in generated/openapi.json has a success and an error interaction', () => {
    const operations = operationsOf(readJson(bundledSpecPath));
    const interactions = localPactFiles().flatMap((file) => interactionsOf(readJson(file), basename(file)));
    expect(operations.length).toBeGreaterThan(0);
    expect(interactions.length).toBeGreaterThan(0);
    expect(coverage(operations, interactions, knownStates)).toEqual({
      missing: [],
      withoutSuccess: [],
      withoutError: [],
      unmatched: [],
      undocumentedStatus: [],
      badProviderStates: [],
      unknownStates: [],
    });
  });

  it('reports an operation without interactions, a missing or undocumented error interaction, a stale interaction and bad provider states', () => {
    const spec = {
      paths: {
        '/api/v1/licenses/{id}': { get: { operationId: 'getLicense', responses: { '200': {}, '404': {} } } },
        '/api/v1/licenses/search': { get: { operationId: 'searchLicenses', responses: { '200': {}, '4XX': {} } } },
        '/api/v4/add_consumption': { post: { operationId: 'addConsumption', responses: { '200': {}, '400': {} } } },
      },
    };
    const pact = {
      interactions: [
        { description: 'get', providerStates: [{ name: 'the service is running' }], request: { method: 'GET', path: '/api/v1/licenses/1234' }, response: { status: 200 } },
        { description: 'get 404', providerStates: [{ name: 'the service is running' }], request: { method: 'GET', path: '/api/v1/licenses/1' }, response: { status: 404 } },
        { description: 'search', providerStates: [{ name: 'no such state' }], request: { method: 'GET', path: '/api/v1/licenses/search' }, response: { status: 200 } },
        { description: 'search 503', providerStates: [], request: { method: 'GET', path: '/api/v1/licenses/search' }, response: { status: 503 } },
        { description: 'stale', providerStates: [{ name: 'the service is running' }], request: { method: 'POST', path: '/api/v4/removed' }, response: { status: 200 } },
      ],
    };
    const report = coverage(operationsOf(spec), interactionsOf(pact, 'p.json'), knownStates);
    expect(report.missing).toEqual(['addConsumption (POST /api/v4/add_consumption)']);
    expect(report.withoutSuccess).toEqual(['addConsumption (POST /api/v4/add_consumption)']);
    expect(report.withoutError).toEqual(['searchLicenses (GET /api/v1/licenses/search)', 'addConsumption (POST /api/v4/add_consumption)']);
    expect(report.unmatched).toEqual(['p.json: "stale" (POST /api/v4/removed → 200)']);
    expect(report.undocumentedStatus).toEqual(['p.json: "search 503" (GET /api/v1/licenses/search → 503): searchLicenses documents 200, 4XX']);
    expect(report.badProviderStates).toEqual(['p.json: "search 503" (GET /api/v1/licenses/search → 503)']);
    expect(report.unknownStates).toEqual(['p.json: "search" (GET /api/v1/licenses/search → 200): "no such state"']);
  });
});
