import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docsHtmlPath } from '../../server/paths.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('GET /docs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('serves the built documentation page with a policy that forbids other hosts', async () => {
    const res = await fetch(`${server.baseUrl}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/https?:/);
    const html = await res.text();
    expect(html).toBe(readFileSync(docsHtmlPath, 'utf8'));
  });

  it('is self-contained: no script, stylesheet or image from a CDN', () => {
    const html = readFileSync(docsHtmlPath, 'utf8');
    expect(html).toMatch(/<script[^>]*>[\s\S]{100000,}?<\/script>/); // Redoc inlined
    expect(html.match(/<(script|link|img)\b[^>]*\b(src|href)=["']?(https?:)?\/\/[^>]*>/gi) ?? []).toEqual([]);
    expect(html).not.toContain('cdn.redoc.ly');
  });

  it('answers other methods in the service error format', async () => {
    const res = await fetch(`${server.baseUrl}/docs`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(await res.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
  });

  it('GET / points at the documentation, the contract in each form, the probes and the APIs; every link answers 200', async () => {
    const res = await fetch(`${server.baseUrl}/`);
    expect(res.status).toBe(200);
    const index = (await res.json()) as { name: string; version: string; documentation: string; openapi: Record<string, string>; health: string; readiness: string; apis: Array<{ name: string; base_path: string }> };
    const spec = JSON.parse(readFileSync(new URL('../../generated/openapi.json', import.meta.url), 'utf8')) as { info: { title: string; version: string } };
    expect(index).toEqual({
      name: spec.info.title,
      version: spec.info.version,
      documentation: '/docs',
      openapi: { json: '/openapi.json', yaml: '/openapi.yaml', json_3_0: '/openapi-3.0.json', yaml_3_0: '/openapi-3.0.yaml' },
      health: '/healthz',
      readiness: '/readyz',
      apis: [
        { name: 'Management API v1', base_path: '/api/v1' },
        { name: 'License API v4', base_path: '/api/v4' },
        { name: 'Web API v3', base_path: '/v3' },
      ],
    });
    for (const link of [index.documentation, ...Object.values(index.openapi), index.health, index.readiness]) expect((await fetch(`${server.baseUrl}${link}`)).status, link).toBe(200);
  });

  it('GET /favicon.ico answers 204 without a body, cacheable for a day (no error in the browser console)', async () => {
    const res = await fetch(`${server.baseUrl}/favicon.ico`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
  });
});
