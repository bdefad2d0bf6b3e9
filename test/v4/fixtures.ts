import { expect } from 'vitest';
import type { Clock } from '../../server/domain/clock.js';
import type { NewLicenseInput } from '../../server/domain/licenses.js';
import { buildLicense, buildProduct } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { V4Client, type V4Response } from './signed-fetch.js';

/**
 * The setup every License API v4 test file shares: the real server on a fresh database (options as
 * for startTestServer) and a signed client for its account, whose Date headers follow `clock` when
 * one is given. Stop it with `t.stop()`.
 */
export async function startLicenseApiServer(options: { clock?: Clock; env?: Record<string, string> } = {}): Promise<{ t: TestServer; client: V4Client }> {
  const t = await startTestServer(options);
  return { t, client: await clientFor(t, options.clock) };
}

/** A signed client for the test server's own account. */
export async function clientFor(t: TestServer, clock?: Clock): Promise<V4Client> {
  const key = await t.services.accounts.signingKey(t.account.id);
  return new V4Client(t.baseUrl, t.credentials, key.publicKeyPem, clock);
}

/** The demo product (activation feature `export`, consumption feature `api-calls`, max 100). */
export function productFor(t: TestServer, accountId = t.account.id) {
  return buildProduct(t.services, accountId);
}

/** A consumption license on a fresh demo product; `activate` hardware ids are activated through the domain. */
export async function licenseFor(t: TestServer, input: Partial<NewLicenseInput> = {}, activate: string[] = ['hw-1']) {
  const product = await productFor(t);
  const { license } = await buildLicense(t.services, t.account.id, { productId: product.id, type: 'consumption', maxActivations: 5, consumption: { max: 100 }, ...input }, activate);
  return { product, license, ids: { product: product.shortCode, license_key: license.key!, hardware_id: activate[0] ?? 'hw-1' } };
}

/** Asserts a License API error: the dialect body `{status, code}` and the HTTP status. */
export function expectError(res: V4Response, code: string, status = 400): void {
  expect(res.body).toMatchObject({ status, code });
  expect(res.status).toBe(status);
}

/** How many responses had each outcome: `200`, or `<status> <code>`. */
export function tally(responses: V4Response[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of responses) {
    const key = r.status === 200 ? '200' : `${r.status} ${r.body?.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
