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

/**
 * Integer query and path parameters must be written as plain decimal integers. The OpenAPI
 * validator coerces with `Number()`, so `1e3`, `0x10`, ` 2` or `1e400` (Infinity) would pass as
 * numbers and reach the adapters, which read the raw string: a hex id could name a real object,
 * an exponent could page to Infinity. Runs after the validator (which found the operation).
 */
export function strictIntegerParameters(spec: SpecLike): RequestHandler {
  const resolve = (p: ParameterLike): ParameterLike => (p.$ref ? (spec.components?.parameters?.[p.$ref.split('/').pop()!] ?? p) : p);
  return (req, _res, next) => {
    const info = (req as { openapi?: OpenApiRequestInfo }).openapi;
    if (!info?.schema) return next();
    const pathItem = info.openApiRoute !== undefined ? spec.paths?.[info.openApiRoute] : undefined;
    for (const param of [...(pathItem?.parameters ?? []), ...(info.schema.parameters ?? [])].map(resolve)) {
      if (!param.name || !isInteger(param)) continue;
      const raw = param.in === 'query' ? (req.query as Record<string, unknown>)[param.name] : param.in === 'path' ? info.pathParams?.[param.name] : undefined;
      if (raw === undefined) continue;
      const values = Array.isArray(raw) ? raw : [raw];
      if (values.some((v) => typeof v !== 'string' || !DECIMAL_INTEGER.test(v))) {
        next(new ApiError(400, 'validation_failed', `${param.in}.${param.name} must be a decimal integer`));
        return;
      }
    }
    next();
  };
}
