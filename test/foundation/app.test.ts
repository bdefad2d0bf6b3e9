import { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { createLogger } from '../../server/logger.js';
import { listenOnFreePort, type RunningApp } from '../support/http.js';

describe('server skeleton', () => {
  let ready = true;
  let running: RunningApp;
  let brokenContract: RunningApp;

  beforeAll(async () => {
    const logger = createLogger('silent');
    running = await listenOnFreePort(createApp({ logger, validateResponses: true, checkReadiness: async () => ready }));
    // A route that breaks its documented response shape: response validation must catch it.
    const broken = Router();
    broken.get('/healthz', (_req, res) => {
      res.json({ status: 'fine', extra: true });
    });
    brokenContract = await listenOnFreePort(
      createApp({ logger, validateResponses: true, checkReadiness: async () => true, apis: [{ basePath: '/', router: broken }] }),
    );
  });
  afterAll(async () => {
    await running.close();
    await brokenContract.close();
  });

  it('answers /healthz with 200 {status: ok}', async () => {
    const res = await fetch(`${running.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when the database is reachable and 503 in the service format when not', async () => {
    ready = true;
    expect((await fetch(`${running.baseUrl}/readyz`)).status).toBe(200);
    ready = false;
    const res = await fetch(`${running.baseUrl}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ code: 'SERVICE_UNAVAILABLE', message: 'The database is unreachable' });
    ready = true;
  });

  it('serves the bundled spec as JSON and YAML', async () => {
    const json = await fetch(`${running.baseUrl}/openapi.json`);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/application\/json/);
    const spec = (await json.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toContain('/healthz');
    const yaml = await fetch(`${running.baseUrl}/openapi.yaml`);
    expect(yaml.status).toBe(200);
    expect(await yaml.text()).toMatch(/^openapi: 3\.1\.0/);
  });

  it('echoes a sane X-Request-Id and generates one otherwise', async () => {
    const echoed = await fetch(`${running.baseUrl}/healthz`, { headers: { 'X-Request-Id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const generated = await fetch(`${running.baseUrl}/healthz`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown paths 404 in each dialect\'s error format', async () => {
    const service = await fetch(`${running.baseUrl}/nope`);
    expect(service.status).toBe(404);
    expect(await service.json()).toEqual({ code: 'NOT_FOUND', message: expect.any(String) });

    const v3 = await fetch(`${running.baseUrl}/v3/nope`);
    expect(v3.status).toBe(404);
    expect(await v3.json()).toEqual({ code: 'NOT_FOUND', message: expect.any(String) });

    for (const prefix of ['/api/v1', '/api/v4']) {
      const res = await fetch(`${running.baseUrl}${prefix}/nope`, { method: 'POST' });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ status: 404, code: 'not_found', message: expect.any(String) });
    }
  });

  it('answers a malformed JSON body 400 invalid_json in the dialect format, without a stack trace', async () => {
    const v4 = await fetch(`${running.baseUrl}/api/v4/add_consumption`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"license_key": ',
    });
    expect(v4.status).toBe(400);
    expect(await v4.json()).toEqual({ status: 400, code: 'invalid_json', message: 'The request body is not valid JSON' });

    const v3 = await fetch(`${running.baseUrl}/v3/activations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{oops}',
    });
    expect(v3.status).toBe(400);
    const body = (await v3.json()) as Record<string, unknown>;
    expect(body).toEqual({ code: 'INVALID_JSON', message: 'The request body is not valid JSON' });
  });

  it('answers a body over the size limit 413 in the dialect format', async () => {
    const res = await fetch(`${running.baseUrl}/api/v1/products/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(200_000) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ status: 413, code: 'payload_too_large', message: expect.any(String) });
  });

  it('answers a schema-violating request 400 validation_failed naming the field', async () => {
    const res = await fetch(`${running.baseUrl}/healthz?unexpected=1`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.message).toMatch(/unexpected/);
  });

  it('answers a wrong method 405 with an Allow header and an error body', async () => {
    const res = await fetch(`${running.baseUrl}/healthz`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ code: 'METHOD_NOT_ALLOWED', message: expect.any(String) });
  });

  it('does not advertise Express', async () => {
    const res = await fetch(`${running.baseUrl}/healthz`);
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('fails a response that violates the spec when response validation is on', async () => {
    const res = await fetch(`${brokenContract.baseUrl}/healthz`);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('RESPONSE_VALIDATION_FAILED');
    expect(body.message).not.toMatch(/at .*\.ts:\d+/);
  });
});
