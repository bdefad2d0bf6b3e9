import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/paths.js';
import { isObject, loadBundledSpec, type Json } from './spec.js';

/** `redocly lint` of `file` with our redocly.yaml: its exit status and output. */
function lint(file: string): Promise<{ ok: boolean; output: string }> {
  const bin = join(projectRoot, 'node_modules', '.bin', 'redocly');
  return new Promise((resolve) => {
    execFile(bin, ['lint', file, '--config', join(projectRoot, 'redocly.yaml'), '--format=stylish'], { cwd: projectRoot, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: `${stdout}${stderr}` });
    });
  });
}

/** A minimal valid document whose only component schema is `schema`, used by one request body (so nothing else fails). */
function documentWith(name: string, schema: object): object {
  return {
    openapi: '3.1.0',
    info: { title: 'lint rule probe', version: '1', description: 'A document that breaks one rule.', license: { name: 'MIT', url: 'https://example.org/license' } },
    servers: [{ url: 'https://api.example.org' }],
    security: [],
    tags: [{ name: 'probe', description: 'Probe.' }],
    paths: {
      '/things': {
        post: {
          operationId: 'createThing',
          summary: 'Create a thing',
          description: 'Creates a thing.',
          tags: ['probe'],
          requestBody: { content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` }, example: {} } } },
          responses: {
            '204': { description: 'Created.' },
            '400': { description: 'Invalid.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ProbeError' }, example: { message: 'x' } } } },
          },
        },
      },
    },
    components: {
      schemas: {
        [name]: schema,
        ProbeError: { title: 'ProbeError', type: 'object', description: 'An error.', properties: { message: { type: 'string', description: 'What went wrong.' } } },
      },
    },
  };
}

const thing = (properties: object, extra: object = {}) => ({ title: 'V1CreateThingRequest', type: 'object', description: 'A thing.', properties, ...extra });

/** Each generator-friendliness rule, and a schema that breaks only it. */
const violations: [rule: string, schema: object][] = [
  ['rule/schema-one-json-type', thing({ id: { type: ['integer', 'string'], description: 'An id.' } })],
  ['rule/enum-without-null', thing({ period: { type: ['string', 'null'], enum: ['daily', null], description: 'A period; null: none.' } })],
  ['rule/no-required-only-one-of', thing({ a: { type: 'string', description: 'A.' }, b: { type: 'string', description: 'B.' } }, { oneOf: [{ required: ['a'] }, { required: ['b'] }] })],
  ['rule/no-not-or-contains', thing({ kinds: { type: 'array', description: 'Kinds.', items: { type: 'string', description: 'A kind.' }, not: { contains: { const: 'x' } } } })],
  ['rule/component-schema-title', { ...thing({ a: { type: 'string', description: 'A.' } }), title: 'Thing' }],
  ['rule/create-field-not-nullable', thing({ until: { type: ['string', 'null'], description: 'Last day.' } })],
];

describe('redocly.yaml generator-friendliness rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lint-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a document that breaks none of them passes (the probe document is sound)', async () => {
    const file = join(dir, 'clean.json');
    writeFileSync(file, JSON.stringify(documentWith('V1CreateThingRequest', thing({ until: { type: ['string', 'null'], description: 'Last day; null: no end.' }, period: { description: 'A period, or null.', oneOf: [{ type: 'string', enum: ['daily'] }, { type: 'null' }] } }))));
    const result = await lint(file);
    expect(result.output).not.toMatch(/rule\//);
    expect(result.ok).toBe(true);
  });

  it.each(violations)('%s fires on a schema that breaks it, and only it', async (rule, schema) => {
    const file = join(dir, `${rule.replace('/', '-')}.json`);
    writeFileSync(file, JSON.stringify(documentWith('V1CreateThingRequest', schema)));
    const result = await lint(file);
    expect(result.ok).toBe(false);
    expect(result.output).toContain(rule);
    expect([...result.output.matchAll(/rule\/[a-z-]+/g)].map((m) => m[0]).filter((r) => r !== rule)).toEqual([]);
  });

  it('the real spec passes every rule', async () => {
    const result = await lint(join(projectRoot, 'openapi', 'openapi.yaml'));
    expect(result.output).not.toMatch(/rule\//);
    expect(result.ok).toBe(true);
  });

  it('the bundle has every response header inline: no $ref to #/components/headers', () => {
    const refs: string[] = [];
    const walk = (node: Json | undefined) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (isObject(node)) {
        if (typeof node.$ref === 'string' && node.$ref.startsWith('#/components/headers/')) refs.push(node.$ref);
        Object.values(node).forEach(walk);
      }
    };
    const spec = loadBundledSpec();
    walk(spec);
    expect(refs).toEqual([]);
    expect(isObject(spec.components) && 'headers' in spec.components).toBe(false);
  });
});
