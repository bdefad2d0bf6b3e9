import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * How requests reach the spec's operations, for clients the spec alone does not fully describe:
 *
 * - **Trailing slashes.** A path that differs from one of the spec's only by a trailing slash is
 *   served as the spec's path (an internal rewrite: method, headers, query and body unchanged, so a
 *   POST keeps its body): `/api/v1/account` is `/api/v1/account/`, `/v3/activations/` is
 *   `/v3/activations`. Some generators and HTTP libraries strip or add the slash.
 * - **HEAD** on a path with a GET operation is that GET without its body (uptime checkers use HEAD);
 *   Node's HTTP server sends no body for a HEAD request whatever the route writes.
 * - **OPTIONS** on a spec path answers 204 with `Allow` (the path's methods). A CORS preflight from an
 *   origin in `CORS_ALLOWED_ORIGINS` on the client-side APIs (Web API v3 under `/v3`, License API v4
 *   under `/api/v4`) also gets the `Access-Control-Allow-*` headers, and the actual requests from such
 *   an origin get `Access-Control-Allow-Origin` and the exposed headers. Without the setting no CORS
 *   header is ever sent. The Management API (`/api/v1`) is never opened to browsers: its key is a
 *   server-side secret.
 */

interface SpecPaths {
  paths?: Record<string, Record<string, unknown>>;
}

interface SpecRoute {
  pattern: RegExp;
  methods: string[];
  /** The CORS middleware of the path (its methods), when CORS is on. */
  cors?: RequestHandler;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** The request headers a browser client of the client-side APIs may send. */
const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Date', 'Idempotency-Key', 'X-Request-Id'];
/** The response headers such a client may read. */
const CORS_EXPOSED_HEADERS = ['Idempotent-Replayed', 'LicenseSignature', 'Retry-After', 'X-Rate-Limit-Limit', 'X-Rate-Limit-Remaining', 'X-Rate-Limit-Reset', 'X-Request-Id'];
const CORS_PREFIXES = ['/v3/', '/api/v4/'];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function routesOf(spec: SpecPaths): SpecRoute[] {
  return Object.entries(spec.paths ?? {}).map(([path, item]) => ({
    pattern: new RegExp(`^${path.split(/\{[^}]+\}/).map(escapeRegExp).join('[^/]+')}$`),
    methods: HTTP_METHODS.filter((m) => m in item).map((m) => m.toUpperCase()),
  }));
}

export interface SpecRoutingOptions {
  /** CORS_ALLOWED_ORIGINS: exact origins (`https://app.example.com`), or `*` for any; empty: no CORS. */
  corsAllowedOrigins: readonly string[];
}

export function specRouting(spec: SpecPaths, options: SpecRoutingOptions): RequestHandler {
  const routes = routesOf(spec);
  const corsEnabled = options.corsAllowedOrigins.length > 0;
  // Most paths have no parameter: one map lookup; the templated ones are tried in spec order.
  const paths = Object.keys(spec.paths ?? {});
  const exact = new Map(paths.flatMap((path, i) => (path.includes('{') ? [] : [[path, routes[i]!] as const])));
  const templated = routes.filter((_, i) => paths[i]!.includes('{'));
  const find = (path: string) => exact.get(path) ?? templated.find((r) => r.pattern.test(path));
  const anyOrigin = options.corsAllowedOrigins.includes('*');
  const allowedOrigins = new Set(options.corsAllowedOrigins);
  const corsFor = (methods: string[]) =>
    cors({
      origin: (origin, done) => done(null, origin !== undefined && (anyOrigin || allowedOrigins.has(origin)) ? origin : false),
      methods: [...methods, 'HEAD'],
      allowedHeaders: CORS_REQUEST_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: 600,
      optionsSuccessStatus: 204,
      preflightContinue: true,
    });
  if (corsEnabled) for (const route of routes) route.cors = corsFor(route.methods);

  return (req, res, next) => {
    const queryAt = req.url.indexOf('?');
    const path = queryAt === -1 ? req.url : req.url.slice(0, queryAt);
    let route = find(path);
    if (!route && path.length > 1 && !path.endsWith('//')) {
      const toggled = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
      route = find(toggled);
      if (route) {
        // Both: routers read `url`, the request validator reads `originalUrl`.
        req.url = toggled + (queryAt === -1 ? '' : req.url.slice(queryAt));
        req.originalUrl = req.url;
      }
    }
    if (!route) return next();
    const allow = route.methods.includes('GET') ? [...route.methods, 'HEAD', 'OPTIONS'] : [...route.methods, 'OPTIONS'];
    if (req.method === 'HEAD' && route.methods.includes('GET')) req.method = 'GET';

    const finish = () => {
      if (req.method !== 'OPTIONS') return next();
      res.setHeader('Allow', allow.join(', '));
      res.status(204).end();
    };
    if (route.cors && CORS_PREFIXES.some((p) => req.url.startsWith(p))) {
      route.cors(req, res, (err?: unknown) => (err ? next(err) : finish()));
      return;
    }
    finish();
  };
}
