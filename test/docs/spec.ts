import { readFileSync } from 'node:fs';
import { bundledSpecJsonPath } from '../../server/paths.js';

/** The parts of an OpenAPI 3.1 document these tests read (the bundled spec has only internal `$ref`s). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface SpecOperation {
  /** `GET /api/v4/add_consumption`, or `webhook activation.updated POST`. */
  label: string;
  kind: 'path' | 'webhook';
  /** The path, or the webhook's name. */
  name: string;
  method: string;
  operationId: string | undefined;
  summary: string | undefined;
  tags: string[];
  operation: JsonObject;
  /** Parameters declared on the path item (shared by its operations). */
  pathParameters: Json[];
}

export const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The bundled spec exactly as the server and the generators see it. */
export function loadBundledSpec(): JsonObject {
  return JSON.parse(readFileSync(bundledSpecJsonPath, 'utf8')) as JsonObject;
}

/** Follows a local `$ref` (`#/components/...`) until a non-reference object. */
export function resolveRef(spec: JsonObject, value: Json | undefined): Json | undefined {
  let current = value;
  for (let depth = 0; isObject(current) && typeof current.$ref === 'string'; depth++) {
    const ref = current.$ref;
    if (!ref.startsWith('#/') || depth > 32) throw new Error(`unresolvable $ref ${ref}`);
    let target: Json | undefined = spec;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      target = isObject(target) ? target[key] : undefined;
    }
    if (target === undefined) throw new Error(`unresolvable $ref ${ref}`);
    current = target;
  }
  return current;
}

/** Every operation of `paths` and `webhooks`, in document order. */
export function listOperations(spec: JsonObject): SpecOperation[] {
  const result: SpecOperation[] = [];
  for (const kind of ['path', 'webhook'] as const) {
    const items = spec[kind === 'path' ? 'paths' : 'webhooks'];
    if (!isObject(items)) continue;
    for (const [name, rawItem] of Object.entries(items)) {
      const item = resolveRef(spec, rawItem);
      if (!isObject(item)) continue;
      const pathParameters = Array.isArray(item.parameters) ? item.parameters : [];
      for (const method of httpMethods) {
        const operation = item[method];
        if (!isObject(operation)) continue;
        result.push({
          label: kind === 'path' ? `${method.toUpperCase()} ${name}` : `webhook ${name} ${method.toUpperCase()}`,
          kind,
          name,
          method,
          operationId: typeof operation.operationId === 'string' ? operation.operationId : undefined,
          summary: typeof operation.summary === 'string' ? operation.summary : undefined,
          tags: Array.isArray(operation.tags) ? operation.tags.filter((t): t is string => typeof t === 'string') : [],
          operation,
          pathParameters,
        });
      }
    }
  }
  return result;
}

/** The declared tags (`tags:`), in document order. */
export function listTags(spec: JsonObject): string[] {
  const tags = Array.isArray(spec.tags) ? spec.tags : [];
  return tags.flatMap((tag) => (isObject(tag) && typeof tag.name === 'string' ? [tag.name] : []));
}

/** How Redoc labels each declared tag: its `x-displayName`, or its name. */
export function listTagLabels(spec: JsonObject): { name: string; label: string }[] {
  const tags = Array.isArray(spec.tags) ? spec.tags : [];
  return tags.flatMap((tag) => {
    if (!isObject(tag) || typeof tag.name !== 'string') return [];
    return [{ name: tag.name, label: typeof tag['x-displayName'] === 'string' ? tag['x-displayName'] : tag.name }];
  });
}
