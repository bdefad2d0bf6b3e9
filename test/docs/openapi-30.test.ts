/**
 * The OpenAPI 3.0.3 rendition (scripts/openapi-30.mjs, written by `npm run generate` to
 * generated/openapi-3.0.{json,yaml}): the converter on small inputs, the committed files against a
 * fresh conversion, two independent validators (@apidevtools/swagger-parser, and Debian's
 * kin-openapi through test/interop/kin-load), and the two routes that serve it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertToOpenApi30 } from '../../scripts/openapi-30.mjs';
import { bundledSpecJsonPath, projectRoot, specJson30Path, specYaml30Path } from '../../server/paths.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Doc = { [key: string]: unknown };

/** A minimal 3.1 document with the given schemas (and more top-level fields). */
function docWith(schemas: Doc, extra: Doc = {}): Doc {
  return { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: {}, components: { schemas }, ...extra };
}
/** The converted components.schemas of `docWith(schemas)`. */
function schemasOf(schemas: Doc): Doc {
  return (convertToOpenApi30(docWith(schemas)).document.components as { schemas: Doc }).schemas;
}

describe('convertToOpenApi30', () => {
  it('writes openapi 3.0.3, drops jsonSchemaDialect and the SPDX license identifier, keeps info.summary as x-summary, adds paths', () => {
    const { document, losses } = convertToOpenApi30({
      openapi: '3.1.0',
      jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
      info: { title: 't', version: '1', summary: 'short', license: { name: 'MIT', identifier: 'MIT' } },
      components: { schemas: {} },
    });
    expect(document).toEqual({ openapi: '3.0.3', info: { title: 't', version: '1', 'x-summary': 'short', license: { name: 'MIT' } }, components: { schemas: {} }, paths: {} });
    expect(losses.map((l) => l.pointer)).toEqual(['/jsonSchemaDialect', '/info/summary', '/info/license/identifier']);
  });

  it('moves webhooks to x-webhooks, converting their schemas', () => {
    const { document } = convertToOpenApi30({
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      webhooks: {
        'license.created': {
          post: {
            requestBody: { content: { 'application/json': { schema: { type: ['string', 'null'] } } } },
            responses: { '200': { description: 'ok' } },
          },
        },
      },
    });
    expect(document.webhooks).toBeUndefined();
    expect(document['x-webhooks']).toEqual({
      'license.created': {
        post: {
          requestBody: { content: { 'application/json': { schema: { type: 'string', nullable: true } } } },
          responses: { '200': { description: 'ok' } },
        },
      },
    });
    expect(document.paths).toEqual({});
  });

  it('turns [X, null] into X + nullable, and a lone null type into a nullable enum of null', () => {
    expect(schemasOf({ A: { type: ['string', 'null'], maxLength: 3 }, B: { type: ['null'] }, C: { type: 'null' } })).toEqual({
      A: { type: 'string', maxLength: 3, nullable: true },
      B: { nullable: true, enum: [null] },
      C: { nullable: true, enum: [null] },
    });
  });

  it('drops a {type: null} branch of oneOf/anyOf and makes the schema nullable', () => {
    expect(
      schemasOf({
        Ref: { description: 'd', oneOf: [{ $ref: '#/components/schemas/X' }, { type: 'null' }] },
        Inline: { anyOf: [{ type: 'string', minLength: 1 }, { type: ['null'] }] },
        Two: { oneOf: [{ $ref: '#/components/schemas/X' }, { $ref: '#/components/schemas/Y' }, { type: 'null' }] },
        X: { type: 'string' },
        Y: { type: 'integer' },
      }),
    ).toEqual({
      Ref: { description: 'd', nullable: true, allOf: [{ $ref: '#/components/schemas/X' }] },
      Inline: { nullable: true, type: 'string', minLength: 1 },
      Two: { oneOf: [{ $ref: '#/components/schemas/X' }, { $ref: '#/components/schemas/Y' }], nullable: true },
      X: { type: 'string' },
      Y: { type: 'integer' },
    });
  });

  it('splits a list of two types into oneOf (anyOf for integer + number), each branch with its type\'s keywords', () => {
    expect(
      schemasOf({
        Id: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1, format: 'int64', description: 'id' },
        Flag: { type: ['boolean', 'integer', 'null'], minimum: 0, maximum: 1 },
        Num: { type: ['integer', 'number'], multipleOf: 2 },
      }),
    ).toEqual({
      Id: { description: 'id', oneOf: [{ type: 'integer', minimum: 1, format: 'int64' }, { type: 'string', pattern: '^[0-9]+$' }] },
      Flag: { oneOf: [{ type: 'boolean' }, { type: 'integer', minimum: 0, maximum: 1 }], nullable: true },
      Num: { anyOf: [{ type: 'integer', multipleOf: 2 }, { type: 'number', multipleOf: 2 }] },
    });
  });

  it('keeps an existing oneOf beside a split type list by nesting both under allOf', () => {
    expect(schemasOf({ A: { type: ['string', 'integer'], oneOf: [{ minimum: 1 }, { maxLength: 2 }] } })).toEqual({
      A: { oneOf: [{ minimum: 1 }, { maxLength: 2 }], allOf: [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }] },
    });
  });

  it('turns const into a one-value enum and schema examples into example; media-type examples stay', () => {
    const { document } = convertToOpenApi30(
      docWith(
        { A: { type: 'boolean', const: true }, B: { type: 'string', examples: ['x', 'y'] }, C: { type: 'string', example: 'keep', examples: ['x'] } },
        {
          paths: {
            '/a': {
              get: {
                responses: {
                  '200': { description: 'ok', content: { 'application/json': { schema: { type: 'string', examples: ['s'] }, examples: { one: { value: 'v' } } } } },
                },
              },
            },
          },
        },
      ),
    );
    expect((document.components as { schemas: Doc }).schemas).toEqual({ A: { type: 'boolean', enum: [true] }, B: { type: 'string', example: 'x' }, C: { type: 'string', example: 'keep' } });
    expect(document.paths).toEqual({
      '/a': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'string', example: 's' }, examples: { one: { value: 'v' } } } } } } } },
    });
  });

  it('turns numeric exclusiveMinimum/Maximum into a bound plus a boolean, keeping the stricter bound', () => {
    expect(
      schemasOf({
        A: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 10 },
        B: { type: 'number', minimum: 5, exclusiveMinimum: 0 },
        C: { type: 'number', exclusiveMaximum: 3, maximum: 7 },
      }),
    ).toEqual({
      A: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: true },
      B: { type: 'number', minimum: 5 },
      C: { type: 'number', maximum: 3, exclusiveMaximum: true },
    });
  });

  it('moves a schema $ref with siblings into allOf; drops the siblings of other $refs', () => {
    const { document, losses } = convertToOpenApi30(
      docWith(
        { A: { $ref: '#/components/schemas/B', description: 'about A', readOnly: true }, B: { type: 'string' }, C: { $ref: '#/components/schemas/B' } },
        { paths: { '/a': { get: { responses: { '200': { $ref: '#/components/responses/Ok', description: 'overridden' } } } } } },
      ),
    );
    expect((document.components as { schemas: Doc }).schemas).toEqual({
      A: { description: 'about A', readOnly: true, allOf: [{ $ref: '#/components/schemas/B' }] },
      B: { type: 'string' },
      C: { $ref: '#/components/schemas/B' },
    });
    expect(document.paths).toEqual({ '/a': { get: { responses: { '200': { $ref: '#/components/responses/Ok' } } } } });
    expect(losses.map((l) => l.pointer)).toEqual(['/paths/~1a/get/responses/200']);
  });

  it('drops keywords 3.0 lacks, recording each; a `not` whose subschema lost one goes as a whole', () => {
    const { document, losses } = convertToOpenApi30(
      docWith({
        Events: {
          type: 'array',
          items: { type: 'string', enum: ['a', 'b'] },
          not: { allOf: [{ contains: { const: 'a' } }, { contains: { const: 'b' } }] },
        },
        Kept: { type: 'string', not: { const: 'x' } },
        Rest: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          $id: 'rest',
          $comment: 'c',
          type: 'object',
          properties: { blob: { type: 'string', contentMediaType: 'image/png', contentEncoding: 'base64' }, t: { type: 'array', prefixItems: [{ type: 'string' }] } },
          unevaluatedProperties: false,
          dependentRequired: { a: ['b'] },
          if: { required: ['a'] },
          then: { required: ['b'] },
          else: { required: ['c'] },
          patternProperties: { '^x': { type: 'string' } },
          'x-vendor': 1,
        },
      }),
    );
    expect((document.components as { schemas: Doc }).schemas).toEqual({
      Events: { type: 'array', items: { type: 'string', enum: ['a', 'b'] } },
      Kept: { type: 'string', not: { enum: ['x'] } },
      Rest: { type: 'object', properties: { blob: { type: 'string' }, t: { type: 'array' } }, 'x-vendor': 1 },
    });
    expect(losses.map((l) => `${l.pointer} ${l.keyword}`)).toEqual([
      '/components/schemas/Events/not/allOf/0/contains contains',
      '/components/schemas/Events/not/allOf/1/contains contains',
      '/components/schemas/Events/not not',
      '/components/schemas/Rest/$schema $schema',
      '/components/schemas/Rest/$id $id',
      '/components/schemas/Rest/$comment $comment',
      '/components/schemas/Rest/properties/blob/contentMediaType contentMediaType',
      '/components/schemas/Rest/properties/blob/contentEncoding contentEncoding',
      '/components/schemas/Rest/properties/t/prefixItems prefixItems',
      '/components/schemas/Rest/unevaluatedProperties unevaluatedProperties',
      '/components/schemas/Rest/dependentRequired dependentRequired',
      '/components/schemas/Rest/if if',
      '/components/schemas/Rest/then then',
      '/components/schemas/Rest/else else',
      '/components/schemas/Rest/patternProperties patternProperties',
    ]);
  });

  it('turns a oneOf whose branch lost a keyword into an anyOf, so that it refuses nothing more', () => {
    const { document, losses } = convertToOpenApi30(
      docWith({ A: { oneOf: [{ type: 'array', prefixItems: [{ type: 'string' }] }, { type: 'array', items: { type: 'integer' } }] }, B: { oneOf: [{ type: 'string' }, { type: 'integer' }] } }),
    );
    expect((document.components as { schemas: Doc }).schemas).toEqual({
      A: { anyOf: [{ type: 'array' }, { type: 'array', items: { type: 'integer' } }] },
      B: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
    });
    expect(losses.map((l) => `${l.pointer} ${l.keyword}`)).toEqual(['/components/schemas/A/oneOf/0/prefixItems prefixItems', '/components/schemas/A/oneOf oneOf']);
  });

  it('converts schemas in parameters, headers, request bodies and callbacks, and boolean schemas; drops an empty required', () => {
    const { document } = convertToOpenApi30(
      docWith(
        { T: true, F: false, O: { type: 'object', required: [], additionalProperties: false, properties: { a: { type: ['integer', 'null'] } } } },
        {
          paths: {
            '/a/{id}': {
              parameters: [{ name: 'id', in: 'path', required: true, schema: { type: ['string', 'null'] } }],
              post: {
                requestBody: { content: { 'application/json': { schema: { const: 1 } } } },
                responses: { '200': { description: 'ok', headers: { 'X-A': { schema: { type: ['integer', 'null'] } } } } },
                callbacks: { cb: { '{$url}': { post: { responses: { '200': { description: 'ok', content: { 'text/plain': { schema: { type: ['string', 'null'] } } } } } } } } },
              },
            },
          },
        },
      ),
    );
    expect((document.components as { schemas: Doc }).schemas).toEqual({
      T: {},
      F: { not: {} },
      O: { type: 'object', additionalProperties: false, properties: { a: { type: 'integer', nullable: true } } },
    });
    expect(document.paths).toEqual({
      '/a/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', nullable: true } }],
        post: {
          requestBody: { content: { 'application/json': { schema: { enum: [1] } } } },
          responses: { '200': { description: 'ok', headers: { 'X-A': { schema: { type: 'integer', nullable: true } } } } },
          callbacks: { cb: { '{$url}': { post: { responses: { '200': { description: 'ok', content: { 'text/plain': { schema: { type: 'string', nullable: true } } } } } } } } },
        },
      },
    });
  });

  it('leaves its input unchanged', () => {
    const input = docWith({ A: { type: ['string', 'null'], const: 'a', examples: ['a'] } }, { webhooks: { w: { post: { responses: { '200': { description: 'ok' } } } } } });
    const before = structuredClone(input);
    convertToOpenApi30(input);
    expect(input).toEqual(before);
  });
});

describe('generated/openapi-3.0.{json,yaml}', () => {
  const bundled = JSON.parse(readFileSync(bundledSpecJsonPath, 'utf8')) as Doc;
  const committedJson = readFileSync(specJson30Path, 'utf8');
  const committedYaml = readFileSync(specYaml30Path, 'utf8');

  it('are the conversion of the committed 3.1 bundle, with its paths, components and webhooks', () => {
    const { document } = convertToOpenApi30(bundled);
    expect(JSON.parse(committedJson)).toEqual(document);
    expect(parse(committedYaml)).toEqual(document);
    expect(document.openapi).toBe('3.0.3');
    expect(Object.keys(document.paths as Doc)).toEqual(Object.keys(bundled.paths as Doc));
    expect(Object.keys(document['x-webhooks'] as Doc)).toEqual(Object.keys(bundled.webhooks as Doc));
    expect(Object.keys((document.components as { schemas: Doc }).schemas)).toEqual(Object.keys((bundled.components as { schemas: Doc }).schemas));
    // No 3.1-only construct is left.
    expect(committedJson).not.toMatch(/"type": \[|"const":|"null"|"webhooks":|"contains":|"jsonSchemaDialect":/);
  });

  it('validates with @apidevtools/swagger-parser', async () => {
    const { default: SwaggerParser } = await import('@apidevtools/swagger-parser');
    // validate() dereferences its argument in place: give it a copy.
    const api = await SwaggerParser.validate(JSON.parse(committedJson) as never);
    expect((api as { openapi?: string }).openapi).toBe('3.0.3');
  });

  const hasGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasGo && process.env.CI !== 'true')('loads and validates in kin-openapi (Debian golang-github-getkin-kin-openapi-dev, test/interop/kin-load)', () => {
    expect(hasGo, '`go` is not on PATH (CI needs golang-go and golang-github-getkin-kin-openapi-dev)').toBe(true);
    const result = spawnSync('go', ['run', './test/interop/kin-load', specJson30Path], {
      cwd: projectRoot,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        // Offline, from Debian's packaged sources.
        GO111MODULE: 'off',
        GOPATH: process.env.GOPATH ?? '/usr/share/gocode',
        GOFLAGS: '',
        GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'go-build-kin-load'),
      },
    });
    expect(result.stderr, result.stdout).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/loads and validates \(OpenAPI 3\.0\.3, \d+ paths\)/);
  }, 180_000);
});

describe('GET /openapi-3.0.json and /openapi-3.0.yaml', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it.each([
    { path: '/openapi-3.0.json', file: specJson30Path, type: 'application/json; charset=utf-8', version: (body: string) => (JSON.parse(body) as Doc).openapi },
    { path: '/openapi-3.0.yaml', file: specYaml30Path, type: 'application/yaml; charset=utf-8', version: (body: string) => /^openapi: (\S+)\n/.exec(body)?.[1] },
  ])('$path serves the committed 3.0.3 rendition', async ({ path, file, type, version }) => {
    const res = await fetch(`${server.baseUrl}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    const body = await res.text();
    expect(body).toBe(readFileSync(file, 'utf8'));
    expect(version(body)).toBe('3.0.3');
  });

  it('answer an undocumented query parameter 400 in the service error format', async () => {
    const res = await fetch(`${server.baseUrl}/openapi-3.0.json?format=compact`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 'VALIDATION_FAILED', message: "/query/format Unknown query parameter 'format'" });
  });
});
