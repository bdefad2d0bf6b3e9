import { Router } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { ApiError } from './api-error.js';
import { bundledSpecJsonPath, bundledSpecYamlPath, docsHtmlPath, specJson30Path, specYaml30Path } from '../paths.js';

export interface ServiceRoutesDeps {
  /** Resolves true when the database answers a ping. */
  checkReadiness(): Promise<boolean>;
}

/**
 * The documentation page may load only what it carries inline (Redoc is inlined by
 * scripts/build-docs.mjs): nothing from other hosts, so it renders offline and leaks nothing.
 */
const docsContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self' 'unsafe-inline' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self' blob: data:",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** `/healthz`, `/readyz`, the bundled spec and its OpenAPI 3.0.3 rendition as JSON and YAML, and its documentation at `/docs`. */
export function serviceRoutes(deps: ServiceRoutesDeps): Router {
  const router = Router();
  const specJson = readFileSync(bundledSpecJsonPath, 'utf8');
  const specYaml = readFileSync(bundledSpecYamlPath, 'utf8');
  const specJson30 = readFileSync(specJson30Path, 'utf8');
  const specYaml30 = readFileSync(specYaml30Path, 'utf8');
  const docsHtml = existsSync(docsHtmlPath) ? readFileSync(docsHtmlPath, 'utf8') : undefined;

  const info = (JSON.parse(specJson) as { info: { title: string; version: string } }).info;
  const index = {
    name: info.title,
    version: info.version,
    documentation: '/docs',
    openapi: { json: '/openapi.json', yaml: '/openapi.yaml', json_3_0: '/openapi-3.0.json', yaml_3_0: '/openapi-3.0.yaml' },
    health: '/healthz',
    readiness: '/readyz',
    apis: [
      { name: 'Management API v1', base_path: '/api/v1' },
      { name: 'License API v4', base_path: '/api/v4' },
      { name: 'Web API v3', base_path: '/v3' },
    ],
  };
  router.get('/', (_req, res) => {
    res.json(index);
  });
  router.get('/favicon.ico', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').status(204).end();
  });
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const ready = await deps.checkReadiness().catch(() => false);
    if (!ready) throw new ApiError(503, 'service_unavailable', 'The database is unreachable');
    res.json({ status: 'ok' });
  });
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(specJson);
  });
  router.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(specYaml);
  });
  router.get('/openapi-3.0.json', (_req, res) => {
    res.type('application/json').send(specJson30);
  });
  router.get('/openapi-3.0.yaml', (_req, res) => {
    res.type('application/yaml').send(specYaml30);
  });
  router.get('/docs', (_req, res) => {
    if (docsHtml === undefined) throw new ApiError(404, 'not_found', 'The documentation has not been built; run `npm run docs`');
    res.set('Content-Security-Policy', docsContentSecurityPolicy).type('text/html').send(docsHtml);
  });
  return router;
}
