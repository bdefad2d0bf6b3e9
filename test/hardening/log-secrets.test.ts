/**
 * Secrets never reach the logs: a full scenario (account, Management API product, feature and
 * license, License API signed calls, Web API activation and increment, failed authentications, a
 * database outage's 503s are covered elsewhere) runs with every log level on, and the captured
 * output is searched for every credential and license key involved.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { loggedPath } from '../../server/http/request-context.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { startTestDatabase, type TestDatabase } from '../../server/db/embedded/test/database.js';
import { signedAuthorization } from '../v4/signed-fetch.js';
import { claimsOf, fingerprint } from '../v3/support.js';
import { send, v4Headers } from './support/wire.js';

describe('secrets never appear in logs', () => {
  const lines: string[] = [];
  let testDb: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    testDb = await startTestDatabase();
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      MONGODB_URI: testDb.uri,
      MONGODB_DB_NAME: testDb.dbName,
      SECRETS_KEY: randomBytes(32).toString('base64'),
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_PER_KEY: '0',
    });
    const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
    server = await startServer({ config, logger, print: () => undefined });
  });

  afterAll(async () => {
    await server?.close();
    await testDb?.stop();
  });

  it('captures a full scenario at trace level and finds none of its secrets', async () => {
    const { account, credentials } = await server.services.accounts.createAccount({ name: 'log-scan' });
    const url = server.url;
    const v1 = { Authorization: `Api-Key ${credentials.managementApiKey}` };
    const secrets: Record<string, string> = { ...credentials };

    const product = await send(url, 'POST', '/api/v1/products/', { headers: v1, body: { product_name: 'Logged', short_code: `log-${randomBytes(3).toString('hex')}` } });
    expect(product.status).toBe(201);
    const feature = await send(url, 'POST', '/api/v1/product-features/', { headers: v1, body: { product: product.body.id, name: 'API calls', code: 'api-calls', feature_type: 'consumption', max_consumption: 100 } });
    expect(feature.status).toBe(201);
    const license = await send(url, 'POST', '/api/v1/licenses/', {
      headers: v1,
      body: { product: product.body.id, license_type: 'consumption', max_activations: 3, max_consumptions: 100, product_features: [{ product_feature: 'api-calls', max_consumption: 100 }] },
    });
    expect(license.status, license.text).toBe(201);
    secrets.licenseKey = license.body.license_key;
    expect((await send(url, 'GET', `/api/v1/licenses/${license.body.id}/`, { headers: v1 })).status).toBe(200);

    const ids = { product: product.body.short_code, license_key: license.body.license_key, hardware_id: 'hw-log' };
    const signed = v4Headers(credentials);
    secrets.signature = /signature="([^"]+)"/.exec(signed.Authorization!)![1]!;
    expect((await send(url, 'POST', '/api/v4/activate_license', { headers: signed, body: ids })).status).toBe(200);
    expect((await send(url, 'POST', '/api/v4/add_consumption', { headers: { ...v4Headers(credentials), 'Idempotency-Key': randomUUID() }, body: { ...ids, consumptions: 2 } })).status).toBe(200);
    expect((await send(url, 'POST', '/api/v4/add_feature_consumption', { headers: v4Headers(credentials), body: { ...ids, feature: 'api-calls', consumptions: 1 } })).status).toBe(200);
    const check = new URLSearchParams(ids).toString();
    expect((await send(url, 'GET', `/api/v4/check_license?${check}`, { headers: v4Headers(credentials) })).status).toBe(200);

    const activation = await send(url, 'POST', '/v3/activations', {
      body: { os: 'linux', fingerprint: fingerprint('log'), hostname: 'h', userHash: 'u', productId: String(product.body.id), accountId: String(account.id), key: license.body.license_key },
    });
    expect(activation.status, activation.text).toBe(201);
    secrets.activationToken = activation.body.activationToken;
    const activationId = claimsOf(activation.body.activationToken).aid as string;
    // The activation id alone authorizes meter changes and DELETE: a credential in the path.
    secrets.activationId = activationId;
    const bearer = { Authorization: `Bearer ${credentials.v3AccessToken}` };
    { const r = await send(url, 'POST', '/v3/activations/meter-attributes/api-calls', { headers: bearer, body: { increment: 1, activationId, accountId: '' } }); expect(r.status, r.text).toBe(200); }
    expect((await send(url, 'GET', `/v3/activations/${activationId}`, { headers: bearer })).status).toBe(200);
    expect((await send(url, 'GET', '/v3/accounts/me', { headers: bearer })).status).toBe(200);

    // Failed authentications with real secrets in the wrong places, and wrong secrets.
    const wrongKey = `mgmt_${randomUUID()}`;
    secrets.wrongKey = wrongKey;
    expect((await send(url, 'GET', '/api/v1/account/', { headers: { Authorization: `Api-Key ${wrongKey}` } })).status).toBe(401);
    expect((await send(url, 'GET', '/api/v1/account/', { headers: { Authorization: `Bearer ${credentials.managementApiKey}` } })).status).toBe(401);
    expect((await send(url, 'GET', '/v3/accounts/me', { headers: { Authorization: `Bearer ${credentials.sharedKey}` } })).status).toBe(401);
    const date = new Date().toUTCString();
    expect((await send(url, 'GET', `/api/v4/check_license?${check}`, { headers: { Date: date, Authorization: signedAuthorization(credentials.licenseApiKey, 'wrong', date) } })).status).toBe(400);
    expect((await send(url, 'POST', '/api/v1/products/', { headers: v1, body: `{"product_name": "${credentials.sharedKey}"` })).status).toBe(400);
    expect((await send(url, 'POST', '/api/v1/products/', { headers: v1, body: { product_name: credentials.sharedKey, bogus: credentials.v3AccessToken } })).status).toBe(400);

    expect((await send(url, 'DELETE', `/v3/activations/${activationId}`)).status).toBe(204);

    const log = lines.join('');
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBe(19);
    expect(log).toContain('"path":"/api/v4/add_consumption"');
    expect(lines.filter((l) => l.includes('"path":"/v3/activations/[redacted]"')).map((l) => JSON.parse(l).method)).toEqual(['GET', 'DELETE']);
    for (const [name, secret] of Object.entries(secrets)) {
      expect(secret.length, name).toBeGreaterThan(8);
      expect(log.includes(secret), `${name} appears in the logs`).toBe(false);
    }
  });

  it('redacts the activation id however the path is spelled, and nothing else', () => {
    expect(['/v3/activations/a1', '/V3/Activations/a1/', '//v3//activations/a1', '/v3/activations/meter-attributes/api-calls', '/v3/activations', '/v3/webhooks/w1'].map(loggedPath)).toEqual([
      '/v3/activations/[redacted]',
      '/V3/Activations/[redacted]/',
      '//v3//activations/[redacted]',
      '/v3/activations/meter-attributes/api-calls',
      '/v3/activations',
      '/v3/webhooks/w1',
    ]);
  });
});
