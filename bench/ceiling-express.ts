/**
 * Ceiling (b): the project's own app stack (`createApp`: request context, JSON body parsing, OpenAPI
 * request validation, error handling; response validation off as in production) with a no-op
 * handler on `POST /api/v4/add_feature_consumption` answering a fixed valid body. What the stack
 * costs before any work (authentication, database, signing) is done.
 */
import { Router } from 'express';
import type { components } from '../generated/schema.js';
import { createApp } from '../server/app.js';
import { createLogger } from '../server/logger.js';

const body: components['schemas']['V4FeatureConsumption'] = {
  id: 1,
  code: 'api-calls',
  name: 'API calls',
  max_consumptions: 1_000_000_000,
  total_consumptions: 1,
  allow_unlimited_consumptions: false,
  allow_negative_consumptions: false,
  allow_overages: false,
  max_overages: 0,
  reset_consumption: false,
  consumption_period: null,
  license_id: 1,
  company: { id: 1 },
  is_floating: false,
  is_floating_cloud: false,
};

const router = Router();
router.post('/add_feature_consumption', (_req, res) => {
  res.json(body);
});

const logger = createLogger((process.env.LOG_LEVEL as 'warn' | undefined) ?? 'warn');
const app = createApp({ logger, validateResponses: false, checkReadiness: async () => true, apis: [{ basePath: '/api/v4', router }] });
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
