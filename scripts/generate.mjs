#!/usr/bin/env node
// Lints and bundles the hand-authored spec in openapi/ and generates everything in generated/ (the
// bundle, its OpenAPI 3.0.3 rendition, TypeScript types, the docs page).
//   node scripts/generate.mjs          regenerate generated/
//   node scripts/generate.mjs --check  fail when generated/ differs from a fresh generation
// A fresh generation is kept in node_modules/.cache/generate/<hash of every input>/ and reused while
// no input changed (the spec, redocly.yaml, these scripts, the installed packages' versions, the
// Node version), so a check after a hand edit of generated/ still compares against a real
// generation; --no-cache (or GENERATE_NO_CACHE=1) generates afresh.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, mkdirSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { convertToOpenApi30 } from './openapi-30.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

/** Runs one tool; resolves to null, or to its output and a failure line when it failed. */
function run(cmd, args) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: root, env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve(err ? { output: String(stdout ?? '') + String(stderr ?? ''), failed: `generate: ${[cmd, ...args].map((a) => relative(root, a) || a).join(' ')} failed` } : null);
    });
    child.stdin?.end();
  });
}

/** Runs independent tools at once; reports the first failure in the order given (as if they had run one after the other) and exits. */
async function runAll(...runs) {
  for (const result of await Promise.all(runs)) {
    if (!result) continue;
    process.stderr.write(result.output);
    console.error(result.failed);
    process.exit(1);
  }
}

async function generateInto(outDir) {
  mkdirSync(outDir, { recursive: true });
  await runAll(
    run(bin('redocly'), ['lint', 'openapi/openapi.yaml', '--format=stylish', '--max-problems=200']),
    run(bin('redocly'), ['bundle', 'openapi/openapi.yaml', '-o', join(outDir, 'openapi.yaml')]),
    run(bin('redocly'), ['bundle', 'openapi/openapi.yaml', '--ext', 'json', '-o', join(outDir, 'openapi.json')]),
  );
  writeOpenApi30(outDir);
  const docsScript = join(root, 'scripts', 'build-docs.mjs');
  await runAll(
    run(bin('openapi-typescript'), [join(outDir, 'openapi.yaml'), '-o', join(outDir, 'schema.d.ts')]),
    existsSync(docsScript) ? run(process.execPath, [docsScript, join(outDir, 'openapi.yaml'), join(outDir, 'docs', 'index.html')]) : null,
  );
}

/** The OpenAPI 3.0.3 rendition of the bundle (scripts/openapi-30.mjs), as JSON and YAML, for tools that read only 3.0. */
function writeOpenApi30(outDir) {
  const { document } = convertToOpenApi30(JSON.parse(readFileSync(join(outDir, 'openapi.json'), 'utf8')));
  writeFileSync(join(outDir, 'openapi-3.0.json'), `${JSON.stringify(document, null, 2)}\n`);
  writeFileSync(join(outDir, 'openapi-3.0.yaml'), stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 }));
}

function listFiles(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full, base) : [relative(base, full)];
  });
}

/** A hash of everything the generation reads: same hash, same output. */
function inputsHash() {
  const hash = createHash('sha256').update(process.version);
  const files = [...listFiles(join(root, 'openapi')).map((f) => join('openapi', f)), 'redocly.yaml', 'node_modules/.package-lock.json', 'scripts/generate.mjs', 'scripts/openapi-30.mjs', 'scripts/build-docs.mjs'];
  for (const file of files.sort()) {
    const full = join(root, file);
    hash.update(`\0${file}\0`).update(existsSync(full) ? readFileSync(full) : '');
  }
  return hash.digest('hex');
}

/** A directory holding a fresh generation of the current inputs: the cached one, or a new one (then cached). */
async function freshGeneration() {
  const useCache = !process.argv.includes('--no-cache') && process.env.GENERATE_NO_CACHE !== '1' && existsSync(join(root, 'node_modules'));
  const cached = join(root, 'node_modules', '.cache', 'generate', inputsHash());
  if (useCache && existsSync(cached)) return { dir: cached, done() {} };
  const tmp = mkdtempSync(join(tmpdir(), 'generated-'));
  await generateInto(tmp);
  if (useCache) {
    // Copied in under a temporary name and renamed, so a half-written cache entry is never used.
    const partial = `${cached}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(cached), { recursive: true });
      cpSync(tmp, partial, { recursive: true });
      renameSync(partial, cached);
      // Only the newest few generations are kept.
      const entries = readdirSync(dirname(cached)).map((name) => join(dirname(cached), name));
      const byAge = entries.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      for (const old of byAge.slice(4)) rmSync(old, { recursive: true, force: true });
    } catch {
      rmSync(partial, { recursive: true, force: true });
    }
  }
  return { dir: tmp, done: () => rmSync(tmp, { recursive: true, force: true }) };
}

if (!check) {
  const fresh = await freshGeneration();
  try {
    for (const name of listFiles(fresh.dir)) {
      mkdirSync(dirname(join(root, 'generated', name)), { recursive: true });
      cpSync(join(fresh.dir, name), join(root, 'generated', name));
    }
  } finally {
    fresh.done();
  }
  console.log('generate: generated/ is up to date');
} else {
  const fresh = await freshGeneration();
  const tmp = fresh.dir;
  try {
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
    fresh.done();
  }
}
