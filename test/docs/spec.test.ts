import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { projectRoot } from '../../server/paths.js';
import { isObject, listOperations, listTags, loadBundledSpec, type JsonObject } from './spec.js';

describe('tag groups (x-tagGroups)', () => {
  const spec = loadBundledSpec();
  const groups = (Array.isArray(spec['x-tagGroups']) ? spec['x-tagGroups'] : []).filter(isObject);
  const grouped = groups.flatMap((group) => (Array.isArray(group.tags) ? group.tags.filter((t): t is string => typeof t === 'string') : []));

  it('list every declared tag exactly once (Redoc hides tags that are in no group)', () => {
    const tags = listTags(spec);
    expect(tags.filter((tag) => grouped.filter((g) => g === tag).length !== 1)).toEqual([]);
  });

  it('never name a tag like a group (the sidebar would show the name inside itself), and give every operation one tag', () => {
    const names = new Set(groups.map((group) => group.name));
    expect(grouped.filter((tag) => names.has(tag))).toEqual([]);
    expect(listOperations(spec).filter((op) => op.tags.length !== 1).map((op) => op.label)).toEqual([]);
  });

  it('name only declared tags, and every operation uses declared tags', () => {
    const tags = new Set(listTags(spec));
    expect(grouped.filter((tag) => !tags.has(tag))).toEqual([]);
    expect(listOperations(spec).flatMap((op) => op.tags.filter((t) => !tags.has(t)).map((t) => `${op.label}: ${t}`))).toEqual([]);
  });
});

/** The generator-safety rules in redocly.yaml fire: a scratch copy of the spec with one violation of each. */
describe('redocly.yaml rules that protect generators', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'lint-rules-'));
    cpSync(join(projectRoot, 'openapi'), join(scratch, 'openapi'), { recursive: true });
    cpSync(join(projectRoot, 'redocly.yaml'), join(scratch, 'redocly.yaml'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const lint = () =>
    spawnSync(join(projectRoot, 'node_modules', '.bin', 'redocly'), ['lint', 'openapi/openapi.yaml', '--format=summary'], {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    });

  it('pass on the committed spec', () => {
    const result = lint();
    expect(result.stdout + result.stderr).not.toMatch(/error\s/);
    expect(result.status).toBe(0);
  });

  it('reject duplicate operationIds, inline body schemas, nullable, undescribed properties, unresolved refs, unused components', () => {
    writeFileSync(
      join(scratch, 'openapi', 'components', 'schemas', 'LintProbe.yaml'),
      stringify({ type: 'object', description: 'Probe.', properties: { plain: { type: 'string' }, old: { type: 'string', nullable: true, description: 'Old style.' } } }),
    );
    writeFileSync(
      join(scratch, 'openapi', 'paths', 'lint_probe.yaml'),
      stringify({
        post: {
          operationId: 'getHealth',
          tags: ['Service'],
          summary: 'Probe',
          description: 'Probe.',
          requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { x: { type: 'string', description: 'X.' } } }, example: { x: 'y' } } } },
          responses: {
            '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '../components/schemas/LintProbe.yaml' }, example: { plain: 'a' } } } },
            '4XX': { $ref: '../components/responses/DoesNotExist.yaml' },
          },
        },
      }),
    );
    const rootPath = join(scratch, 'openapi', 'openapi.yaml');
    const root = parse(readFileSync(rootPath, 'utf8')) as JsonObject;
    (root.paths as JsonObject)['/lint-probe'] = { $ref: 'paths/lint_probe.yaml' };
    const components = isObject(root.components) ? root.components : (root.components = {});
    components.schemas = { ...(isObject(components.schemas) ? components.schemas : {}), NeverUsed: { type: 'string', description: 'Unused.' } };
    writeFileSync(rootPath, stringify(root));

    const result = lint();
    const output = result.stdout + result.stderr;
    expect(result.status).not.toBe(0);
    for (const rule of ['operation-operationId-unique', 'rule/json-body-schema-is-ref', 'rule/no-nullable-keyword', 'rule/schema-property-described', 'no-unresolved-refs', 'no-unused-components']) {
      expect(output, rule).toMatch(new RegExp(`error\\s+${rule.replace('/', '\\/')}:`));
    }
  });
});
