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
});
