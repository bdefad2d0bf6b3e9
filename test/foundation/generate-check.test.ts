import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/paths.js';

/** Runs `generate:check` in a scratch copy of the project so the real tree is never touched. */
// A check runs the whole pipeline (lint, bundle, types, docs) unless node_modules/.cache/generate holds a
// generation of the same inputs: the first two cases may reuse it, the spec-edit case always generates.
describe('npm run generate:check', { timeout: 180_000 }, () => {
  let scratch: string;
  const check = (...flags: string[]) => spawnSync(process.execPath, ['scripts/generate.mjs', '--check', ...flags], { cwd: scratch, encoding: 'utf8' });

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'generate-check-'));
    for (const entry of ['openapi', 'generated', 'scripts', 'redocly.yaml', 'package.json']) {
      cpSync(join(projectRoot, entry), join(scratch, entry), { recursive: true });
    }
    symlinkSync(join(projectRoot, 'node_modules'), join(scratch, 'node_modules'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes on the committed tree', () => {
    const result = check();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('fails after a hand edit in generated/', () => {
    appendFileSync(join(scratch, 'generated', 'schema.d.ts'), '\n// hand edit\n');
    const result = check();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/generated\/ is stale.*schema\.d\.ts/);
    execFileSync(process.execPath, ['scripts/generate.mjs'], { cwd: scratch });
    expect(check().status).toBe(0);
  });

  it('fails after a spec edit that was not regenerated', () => {
    const healthz = join(scratch, 'openapi', 'paths', 'healthz.yaml');
    appendFileSync(healthz, "  x-edited: 'not regenerated'\n");
    // Without the cache: this check runs the whole pipeline for real on every run of the suite.
    const result = check('--no-cache');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/openapi\.(json|yaml)/);
  });
});
