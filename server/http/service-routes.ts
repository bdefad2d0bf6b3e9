import { Router } from 'express';
import { readFileSync } from 'node:fs';
import { ApiError } from './api-error.js';
import { bundledSpecJsonPath, bundledSpecYamlPath } from '../paths.js';

export interface ServiceRoutesDeps {
  /** Resolves true when the database answers a ping. */
  checkReadiness(): Promise<boolean>;
}

/** `/healthz`, `/readyz`, and the bundled spec as JSON and YAML. */
export function serviceRoutes(deps: ServiceRoutesDeps): Router {
  const router = Router();
  const specJson = readFileSync(bundledSpecJsonPath, 'utf8');
  const specYaml = readFileSync(bundledSpecYamlPath, 'utf8');

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
  return router;
}
