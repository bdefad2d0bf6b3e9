/**
 * The contract has teeth: the committed pact, verified against a server whose responses drifted
 * (a field deleted, a field renamed, an error code changed), fails; and a pact that expects
 * something the server does not send fails. A pass-through run shows the harness itself is sound.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from '../support/coverage.js';
import { pactFile } from '../support/pact-setup.js';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';
import { startTamperingProxy, type Tamper } from './tampering-proxy.js';

interface PactJson {
  interactions: Array<{ description: string; response: { body?: { content?: unknown } } }>;
  [key: string]: unknown;
}

const HEALTH = 'getHealth: a liveness probe';
const NOT_READY = 'getReadiness: a readiness probe with the database down';

describe('verification fails when the server breaks the contract', () => {
  let harness: ProviderHarness;
  let dir: string;
  beforeAll(async () => {
    harness = await startProviderHarness();
    dir = mkdtempSync(join(tmpdir(), 'pact-drift-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await harness?.stop();
  });

  /** A copy of the committed pact with only the named interactions, optionally edited. */
  function pactWith(descriptions: string[], edit: (pact: PactJson) => void = () => undefined): string {
    const pact = readJson<PactJson>(pactFile);
    pact.interactions = pact.interactions.filter((i) => descriptions.includes(i.description));
    expect(pact.interactions.map((i) => i.description).sort()).toEqual([...descriptions].sort());
    edit(pact);
    const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(pact));
    return file;
  }

  async function verifyThroughProxy(descriptions: string[], tampers: Record<string, Tamper>): Promise<unknown> {
    const proxy = await startTamperingProxy(harness.ctx.server.baseUrl, tampers);
    try {
      return await harness.verify({ pactUrls: [pactWith(descriptions)], providerBaseUrl: proxy.url }).then(
        () => undefined,
        (err: unknown) => err,
      );
    } finally {
      await proxy.close();
    }
  }

  it('passes through an untouched proxy (control)', async () => {
    expect(await verifyThroughProxy([HEALTH, NOT_READY], {})).toBeUndefined();
  });

  it('fails when the server deletes a field from a response', async () => {
    const err = await verifyThroughProxy([HEALTH], { 'GET /healthz': ({ status: _deleted, ...rest }) => rest });
    expect(String(err)).toContain(HEALTH);
    expect(String(err)).toContain('Actual map is missing the following keys: status');
  });

  it('fails when a response field is renamed', async () => {
    const err = await verifyThroughProxy([HEALTH], { 'GET /healthz': ({ status, ...rest }) => ({ ...rest, state: status }) });
    expect(String(err)).toContain(HEALTH);
    expect(String(err)).toContain('Actual map is missing the following keys: status');
  });

  it('fails when the server changes an error code', async () => {
    const err = await verifyThroughProxy([NOT_READY], { 'GET /readyz': (body) => ({ ...body, code: 'DATABASE_DOWN' }) });
    expect(String(err)).toContain(NOT_READY);
    expect(String(err)).toContain("Expected 'DATABASE_DOWN' (String) to be equal to 'SERVICE_UNAVAILABLE' (String)");
  });

  it('fails when the pact expects an error code the server does not send (an altered copy of the pact)', async () => {
    const file = pactWith([NOT_READY], (pact) => {
      const body = pact.interactions[0]!.response.body as { content: { code: string } };
      body.content.code = 'DATABASE_DOWN';
    });
    const err = await harness.verify({ pactUrls: [file] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toContain("Expected 'SERVICE_UNAVAILABLE' (String) to be equal to 'DATABASE_DOWN' (String)");
  });
});
