import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { isObject, listOperations, resolveRef, type Json, type JsonObject } from './spec.js';

/** One example in the spec and the schema it must satisfy. */
export interface ExampleCase {
  /** Where the example is, e.g. `POST /api/v4/add_consumption request application/json example`. */
  where: string;
  schema: Json;
  value: Json;
}

export interface ExampleFailure {
  where: string;
  errors: string[];
}

/** Schema keywords whose values are schemas, maps of schemas or lists of schemas (JSON Schema 2020-12). */
const schemaKeywords = ['items', 'contains', 'additionalProperties', 'propertyNames', 'not', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema'];
const schemaMapKeywords = ['properties', 'patternProperties', 'dependentSchemas', '$defs'];
const schemaListKeywords = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];

/** `example` (OpenAPI) and `examples` (JSON Schema: an array of values) of a schema and all its subschemas. */
function collectSchemaExamples(schema: Json | undefined, where: string, out: ExampleCase[]): void {
  if (!isObject(schema)) return;
  if ('example' in schema) out.push({ where: `${where} example`, schema, value: schema.example ?? null });
  if (Array.isArray(schema.examples)) schema.examples.forEach((value, i) => out.push({ where: `${where} examples[${i}]`, schema, value }));
  for (const key of schemaKeywords) collectSchemaExamples(schema[key], `${where}.${key}`, out);
  for (const key of schemaMapKeywords) {
    const map = schema[key];
    if (isObject(map)) for (const [name, sub] of Object.entries(map)) collectSchemaExamples(sub, `${where}.${key}.${name}`, out);
  }
  for (const key of schemaListKeywords) {
    const list = schema[key];
    if (Array.isArray(list)) list.forEach((sub, i) => collectSchemaExamples(sub, `${where}.${key}[${i}]`, out));
  }
}

/** `example` / `examples` (a map of Example objects) beside a `schema`: media types, parameters, headers. */
function collectObjectExamples(spec: JsonObject, holder: JsonObject, where: string, out: ExampleCase[]): void {
  const schema = holder.schema;
  if (schema === undefined) return;
  if ('example' in holder) out.push({ where: `${where} example`, schema, value: holder.example ?? null });
  if (isObject(holder.examples)) {
    for (const [name, raw] of Object.entries(holder.examples)) {
      const example = resolveRef(spec, raw);
      if (isObject(example) && 'value' in example) out.push({ where: `${where} examples.${name}`, schema, value: example.value ?? null });
    }
  }
  // Inline schemas are walked here; named ones once, under components.schemas.
  if (!(isObject(schema) && typeof schema.$ref === 'string')) collectSchemaExamples(schema, `${where} schema`, out);
}

function collectContent(spec: JsonObject, content: Json | undefined, where: string, out: ExampleCase[]): void {
  if (!isObject(content)) return;
  for (const [mediaType, raw] of Object.entries(content)) {
    if (isObject(raw)) collectObjectExamples(spec, raw, `${where} ${mediaType}`, out);
  }
}

function collectHeaders(spec: JsonObject, headers: Json | undefined, where: string, out: ExampleCase[]): void {
  if (!isObject(headers)) return;
  for (const [name, raw] of Object.entries(headers)) {
    const header = resolveRef(spec, raw);
    if (isObject(header)) collectObjectExamples(spec, header, `${where} header ${name}`, out);
  }
}

/**
 * Every example in the document with its schema: media-type, parameter and header examples of
 * every operation (paths and webhooks), and schema examples of every named and inline schema.
 */
export function collectExamples(spec: JsonObject): ExampleCase[] {
  const out: ExampleCase[] = [];
  for (const op of listOperations(spec)) {
    const parameters = [...op.pathParameters, ...(Array.isArray(op.operation.parameters) ? op.operation.parameters : [])];
    for (const raw of parameters) {
      const parameter = resolveRef(spec, raw);
      if (isObject(parameter)) collectObjectExamples(spec, parameter, `${op.label} parameter ${String(parameter.in)} ${String(parameter.name)}`, out);
    }
    const body = resolveRef(spec, op.operation.requestBody);
    if (isObject(body)) collectContent(spec, body.content, `${op.label} request`, out);
    const responses = op.operation.responses;
    if (isObject(responses)) {
      for (const [status, raw] of Object.entries(responses)) {
        const response = resolveRef(spec, raw);
        if (!isObject(response)) continue;
        collectContent(spec, response.content, `${op.label} response ${status}`, out);
        collectHeaders(spec, response.headers, `${op.label} response ${status}`, out);
      }
    }
  }
  const components = isObject(spec.components) ? spec.components : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  for (const [name, schema] of Object.entries(schemas)) collectSchemaExamples(schema, `components.schemas.${name}`, out);
  return out;
}

const specId = 'https://spec.invalid/components.json';

/** Rewrites `#/components/schemas/X` references to the registered components document. */
function rewriteRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!isObject(value)) return value;
  const copy: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    copy[key] = key === '$ref' && typeof child === 'string' && child.startsWith('#/components/schemas/') ? `${specId}#/$defs/${child.slice('#/components/schemas/'.length)}` : rewriteRefs(child);
  }
  return copy;
}

/** Keywords of OpenAPI's schema dialect that JSON Schema does not define, plus the `x-` extensions in use. */
function openApiKeywords(spec: JsonObject): string[] {
  const extensions = new Set<string>();
  const visit = (value: Json) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (key.startsWith('x-')) extensions.add(key);
        visit(child);
      }
    }
  };
  visit(isObject(spec.components) ? (spec.components.schemas ?? null) : null);
  visit(spec.paths ?? null);
  visit(spec.webhooks ?? null);
  return ['example', 'discriminator', 'xml', 'externalDocs', ...extensions];
}

// ajv-formats is CommonJS (`exports.default = formatsPlugin`): under NodeNext the import is its exports object.
const addFormats = (addFormatsModule as unknown as { default: typeof addFormatsModule.default }).default;

/** Validates every example against its schema (JSON Schema 2020-12, formats checked, strict schemas). */
export function validateExamples(spec: JsonObject, cases: ExampleCase[]): ExampleFailure[] {
  const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: true, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addVocabulary(openApiKeywords(spec));
  const components = isObject(spec.components) ? spec.components : {};
  ajv.addSchema({ $id: specId, $defs: rewriteRefs(isObject(components.schemas) ? components.schemas : {}) } as object);
  const compiled = new Map<Json, ValidateFunction>();
  const failures: ExampleFailure[] = [];
  for (const example of cases) {
    let validate = compiled.get(example.schema);
    if (!validate) {
      validate = ajv.compile(rewriteRefs(example.schema) as object);
      compiled.set(example.schema, validate);
    }
    if (!validate(example.value)) {
      failures.push({ where: example.where, errors: (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`) });
    }
  }
  return failures;
}
