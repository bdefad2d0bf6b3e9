import { describe, expect, it } from 'vitest';
import { collectExamples, validateExamples } from './examples.js';
import { listOperations, loadBundledSpec, type JsonObject } from './spec.js';

describe('examples in the spec', () => {
  const spec = loadBundledSpec();

  it('every example (media type, parameter, header, schema) validates against its schema', () => {
    const cases = collectExamples(spec);
    // Every operation has at least one response example (lint requires one per media type).
    expect(cases.length).toBeGreaterThanOrEqual(listOperations(spec).length);
    const failures = validateExamples(spec, cases);
    expect(failures.map((f) => `${f.where}: ${f.errors.join('; ')}`)).toEqual([]);
  });

  it('the checker finds wrong examples wherever they are (self-test on a small document)', () => {
    const doc: JsonObject = {
      openapi: '3.1.0',
      paths: {
        '/things/{id}': {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^t_' }, example: 'x_1' }],
          post: {
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' }, examples: { bad: { value: { count: 'three' } } } } } },
            responses: {
              '200': {
                description: 'ok',
                headers: { 'X-Count': { schema: { type: 'integer' }, example: 1.5 } },
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' }, example: { count: 3 } } },
              },
            },
          },
        },
      },
      webhooks: {
        'thing.changed': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' }, example: { count: 3, extra: true } } } }, responses: {} } },
      },
      components: {
        schemas: {
          Thing: {
            type: 'object',
            additionalProperties: false,
            required: ['count'],
            properties: {
              count: { type: 'integer', minimum: 0, example: -1 },
              at: { type: ['string', 'null'], format: 'date-time', examples: ['yesterday', null] },
            },
          },
        },
      },
    };
    const cases = collectExamples(doc);
    const failed = validateExamples(doc, cases).map((f) => f.where);
    expect(failed.sort()).toEqual(
      [
        'POST /things/{id} parameter path id example',
        'POST /things/{id} request application/json examples.bad',
        'POST /things/{id} response 200 header X-Count example',
        'webhook thing.changed POST request application/json example',
        'components.schemas.Thing.properties.count example',
        'components.schemas.Thing.properties.at examples[0]',
      ].sort(),
    );
    expect(cases).toHaveLength(8);
  });
});
