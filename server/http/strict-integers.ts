import type { RequestHandler } from 'express';
import { ApiError } from './api-error.js';

interface ParameterLike {
  $ref?: string;
  name?: string;
  in?: string;
  schema?: { type?: string | string[] };
}

interface SpecLike {
  paths?: Record<string, { parameters?: ParameterLike[] } | undefined>;
  components?: { parameters?: Record<string, ParameterLike> };
}

interface OpenApiRequestInfo {
  openApiRoute?: string;
  schema?: { parameters?: ParameterLike[] };
  pathParams?: Record<string, string>;
}

const DECIMAL_INTEGER = /^-?(0|[1-9][0-9]*)$/;

function isInteger(param: ParameterLike): boolean {
  const type = param.schema?.type;
  return type === 'integer' || (Array.isArray(type) && type.includes('integer'));
}

/** A path parameter as sent (the validator's `pathParams` are coerced): matched from the route template. */
function rawPathParam(route: string | undefined, path: string, name: string): string[] {
  if (route === undefined) return [];
  const names: string[] = [];
  const pattern = route.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => {
    names.push(n);
    return '([^/]*)';
  });
  const match = new RegExp(`^${pattern}$`).exec(path);
  const raw = match?.[names.indexOf(name) + 1];
  if (raw === undefined) return [];
  try {
    return [decodeURIComponent(raw)];
  } catch {
    return [raw];
  }
}

/**
 * Integer query and path parameters must be written as plain decimal integers. The OpenAPI
 * validator coerces with `Number()`, so `1e3`, `0x10`, ` 2` or `1e400` (Infinity) would pass as
 * numbers and reach the adapters, which read the raw string: a hex id could name a real object,
 * an exponent could page to Infinity; beyond 2^53 a number is rounded. Runs after the validator (which found the operation).
 */
export function strictIntegerParameters(spec: SpecLike): RequestHandler {
  const resolve = (p: ParameterLike): ParameterLike => (p.$ref ? (spec.components?.parameters?.[p.$ref.split('/').pop()!] ?? p) : p);
  return (req, _res, next) => {
    const info = (req as { openapi?: OpenApiRequestInfo }).openapi;
    if (!info?.schema) return next();
    const pathItem = info.openApiRoute !== undefined ? spec.paths?.[info.openApiRoute] : undefined;
    // The raw query as sent (the validator may have replaced req.query's values by coerced numbers and defaults).
    const search = req.originalUrl.includes('?') ? new URLSearchParams(req.originalUrl.slice(req.originalUrl.indexOf('?') + 1)) : undefined;
    for (const param of [...(pathItem?.parameters ?? []), ...(info.schema.parameters ?? [])].map(resolve)) {
      if (!param.name || !isInteger(param)) continue;
      const values: unknown[] = param.in === 'query' ? (search?.getAll(param.name) ?? []) : param.in === 'path' ? rawPathParam(info.openApiRoute, req.path, param.name) : [];
      if (values.some((v) => typeof v !== 'string' || !DECIMAL_INTEGER.test(v) || !Number.isSafeInteger(Number(v)))) {
        next(new ApiError(400, 'validation_failed', `${param.in}.${param.name} must be a decimal integer from -9007199254740991 to 9007199254740991`));
        return;
      }
    }
    next();
  };
}
