import express, { type Express, type RequestHandler, type Router } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import { readFileSync } from 'node:fs';
import type { RateLimitConfig, TrustProxy } from './config.js';
import type { Logger } from './logger.js';
import { bundledSpecJsonPath } from './paths.js';
import { createErrorHandler, notFoundHandler } from './http/error-handler.js';
import { compatibilityForms } from './http/compatibility-forms.js';
import { BODY_LIMIT_BYTES, declaredBodyLimit, jsonBodyLimits } from './http/json-body-limits.js';
import { hostHeaderCheck } from './http/public-url.js';
import { rateLimits } from './http/rate-limits.js';
import { requestContext } from './http/request-context.js';
import { strictIntegerParameters } from './http/strict-integers.js';
import { serviceRoutes } from './http/service-routes.js';
import { singleAuthorization } from './http/single-authorization.js';
import { specRouting } from './http/spec-routing.js';

/** A dialect's router and the path it is mounted at. */
export interface MountedApi {
  basePath: string;
  router: Router;
  /**
   * Runs before request validation, on the spec's operations under `basePath` only (an unknown
   * path or method still answers 404 / 405): the License API authenticates first, as the vendor does.
   */
  authenticate?: RequestHandler;
  /**
   * Runs after `authenticate` and before request validation, on the same operations: rules of the
   * dialect the spec states in text that keep their priority over schema errors (e.g. the License
   * API's `license_key | username`).
   */
  beforeValidation?: RequestHandler;
}

export interface AppDeps {
  logger: Logger;
  /** Resolves true when the database answers a ping (for `/readyz`). */
  checkReadiness(): Promise<boolean>;
  /** Validate every response against the spec (test and development): a violation answers 500. */
  validateResponses: boolean;
  /** The dialects' routers, mounted after request validation. */
  apis?: MountedApi[];
  /** Largest accepted request body, in bytes (default BODY_LIMIT_BYTES). */
  bodyLimit?: number;
  /** Per-IP and per-credential request limits (absent: no limits). */
  rateLimit?: RateLimitConfig;
  /** Express's `trust proxy` (TRUST_PROXY; absent: off, the socket's address is the client's). */
  trustProxy?: TrustProxy;
  /** CORS_ALLOWED_ORIGINS (absent or empty: no CORS headers); see specRouting. */
  corsAllowedOrigins?: readonly string[];
}

/**
 * Builds the Express application without listening, so tests own the lifecycle. Every request is
 * validated against the bundled spec (never the multi-file source) before a route sees it.
 */
export function createApp(deps: AppDeps): Express {
  // The bundled spec, read once per app and parsed once per user (the validator mutates what it is given).
  const specText = readFileSync(bundledSpecJsonPath, 'utf8');
  const app = express();
  app.disable('x-powered-by');
  // Which proxies' X-Forwarded-For/-Proto/-Host are believed: `req.ip` (rate limits) is the client's
  // behind them. Off by default: the socket's peer is the client.
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use(requestContext(deps.logger));
  // Security headers on every response (an API answers JSON only: nothing may be framed, sniffed or
  // loaded by it); `/docs` replaces the Content-Security-Policy with its own.
  app.use(helmet({ contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));
  app.use(singleAuthorization());
  if (deps.rateLimit) for (const handler of rateLimits(deps.rateLimit)) app.use(handler);
  app.use(hostHeaderCheck());
  // Trailing-slash variants, HEAD and OPTIONS (and CORS) of the spec's paths; see spec-routing.ts.
  app.use(specRouting(JSON.parse(specText) as SpecPaths, { corsAllowedOrigins: deps.corsAllowedOrigins ?? [] }));
  app.use(declaredBodyLimit(deps.bodyLimit ?? BODY_LIMIT_BYTES));
  app.use(express.json({ limit: deps.bodyLimit ?? BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'] }));
  app.use(jsonBodyLimits());
  for (const api of deps.apis ?? []) {
    const handlers = [api.authenticate, api.beforeValidation].filter((h): h is RequestHandler => h !== undefined);
    if (handlers.length === 0) continue;
    for (const { method, path } of operationsUnder(JSON.parse(specText) as SpecPaths, api.basePath)) app[method](path, ...handlers);
  }
  // The documented alternative forms of a few body fields (e.g. `license_id` as digits), as the spec's type.
  app.use(compatibilityForms());
  app.use(
    OpenApiValidator.middleware({
      apiSpec: JSON.parse(specText) as never,
      validateApiSpec: false,
      validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, removeAdditional: false },
      validateResponses: deps.validateResponses ? { removeAdditional: false } : false,
      validateSecurity: false,
      ignoreUndocumented: false,
    }),
  );
  app.use(strictIntegerParameters(JSON.parse(specText) as object));
  for (const api of deps.apis ?? []) app.use(api.basePath, api.router);
  app.use(serviceRoutes({ checkReadiness: deps.checkReadiness }));
  app.use(notFoundHandler);
  app.use(createErrorHandler(deps.logger));
  return app;
}

interface SpecPaths {
  paths?: Record<string, Record<string, unknown>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** The spec's operations under `basePath`, as Express routes (`{id}` becomes `:id`). */
function operationsUnder(spec: SpecPaths, basePath: string): { method: (typeof METHODS)[number]; path: string }[] {
  const prefix = basePath.endsWith('/') ? basePath : `${basePath}/`;
  return Object.entries(spec.paths ?? {})
    .filter(([path]) => path.startsWith(prefix))
    .flatMap(([path, item]) => METHODS.filter((method) => method in item).map((method) => ({ method, path: path.replace(/\{([^}]+)\}/g, ':$1') })));
}
