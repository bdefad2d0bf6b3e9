import { describe, expect, it } from 'vitest';
import { isObject, listOperations, loadBundledSpec, resolveRef, type Json, type JsonObject } from './spec.js';

/** Whether a (resolved) schema lets a value be a string: `type: string`, a type list with it, or a string branch. */
function takesString(spec: JsonObject, raw: Json | undefined): boolean {
  const schema = resolveRef(spec, raw);
  if (!isObject(schema)) return false;
  const type = schema.type;
  if (type === 'string' || (Array.isArray(type) && type.includes('string'))) return true;
  return (['anyOf', 'oneOf', 'allOf'] as const).some((k) => Array.isArray(schema[k]) && (schema[k] as Json[]).some((s) => takesString(spec, s)));
}

/**
 * Query values may carry what RFC 3986 allows unencoded in a query (`@`, `:`, `/`, `?`): the request
 * validator refuses such a value ("must be url encoded") for any parameter not declared
 * `allowReserved: true`, so every string query parameter of every dialect declares it.
 */
describe('string query parameters allow reserved characters', () => {
  const spec = loadBundledSpec();
  const stringQueryParameters = listOperations(spec).flatMap((op) => {
    const declared = [...op.pathParameters, ...(Array.isArray(op.operation.parameters) ? op.operation.parameters : [])];
    return declared.flatMap((raw) => {
      const parameter = resolveRef(spec, raw);
      if (!isObject(parameter) || parameter.in !== 'query' || !takesString(spec, parameter.schema)) return [];
      return [{ label: `${op.label} ?${String(parameter.name)}`, allowReserved: parameter.allowReserved }];
    });
  });

  it('finds the string query parameters of every dialect (v1, v3, v4)', () => {
    const labels = stringQueryParameters.map((p) => p.label);
    for (const expected of ['GET /api/v4/check_license ?username', 'GET /api/v4/check_license ?hardware_id', 'GET /api/v1/licenses/ ?license_key', 'GET /v3/activations ?licenseId']) {
      expect(labels).toContain(expected);
    }
  });

  it('declare allowReserved: true, each of them', () => {
    expect(stringQueryParameters.filter((p) => p.allowReserved !== true).map((p) => p.label)).toEqual([]);
  });
});
