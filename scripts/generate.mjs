#!/usr/bin/env node
// Lints and bundles the hand-authored spec in openapi/ and generates everything in generated/.
//   node scripts/generate.mjs          regenerate generated/
//   node scripts/generate.mjs --check  fail when generated/ differs from a fresh generation
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

function run(cmd, args) {
  try {
    execFileSync(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    process.stderr.write(String(err.stdout ?? '') + String(err.stderr ?? ''));
    console.error(`generate: ${[cmd, ...args].map((a) => relative(root, a) || a).join(' ')} failed`);
    process.exit(1);
  }
}

function generateInto(outDir) {
  mkdirSync(outDir, { recursive: true });
  run(bin('redocly'), ['lint', 'openapi/openapi.yaml', '--format=stylish', '--max-problems=200']);
  run(bin('redocly'), ['bundle', 'openapi/openapi.yaml', '-o', join(outDir, 'openapi.yaml')]);
  run(bin('redocly'), ['bundle', 'openapi/openapi.yaml', '--ext', 'json', '-o', join(outDir, 'openapi.json')]);
  run(bin('openapi-typescript'), [join(outDir, 'openapi.yaml'), '-o', join(outDir, 'schema.d.ts')]);
  const docsScript = join(root, 'scripts', 'build-docs.mjs');
  if (existsSync(docsScript)) run(process.execPath, [docsScript, join(outDir, 'openapi.yaml'), join(outDir, 'docs', 'index.html')]);
}

function listFiles(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full, base) : [relative(base, full)];
  });
}

if (!check) {
  generateInto(join(root, 'generated'));
  console.log('generate: generated/ is up to date');
} else {
  const tmp = mkdtempSync(join(tmpdir(), 'generated-'));
  try {
    generateInto(tmp);
    const committed = join(root, 'generated');
    const names = new Set([...listFiles(tmp), ...listFiles(committed)]);
    const stale = [...names].sort().filter((name) => {
      const a = join(tmp, name);
      const b = join(committed, name);
      return !existsSync(a) || !existsSync(b) || !readFileSync(a).equals(readFileSync(b));
    });
    if (stale.length > 0) {
      console.error(`generate:check: generated/ is stale; run \`npm run generate\` and commit. Differs: ${stale.join(', ')}`);
      process.exit(1);
    }
    console.log('generate:check: generated/ matches the spec');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
