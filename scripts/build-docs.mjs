#!/usr/bin/env node
// Builds the Redoc documentation from the bundled spec into one self-contained HTML file.
//   node scripts/build-docs.mjs [bundled openapi.yaml] [out html]
//   (defaults: generated/openapi.yaml → generated/docs/index.html; scripts/generate.mjs passes both)
// The Redoc scripts are inlined (`--inlineBundle`), so the page renders offline. The output is
// deterministic (no timestamps, no absolute paths): `generate:check` compares it byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [input = join(root, 'generated', 'openapi.yaml'), output = join(root, 'generated', 'docs', 'index.html')] = process.argv.slice(2);
const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

// The only assets the inlined Redoc bundle would fetch from a CDN: the "API docs by Redocly" logo.
// Offline it fails to load (a console error), so it becomes an inline image with the same text.
const redoclyLogo = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="52" height="14" viewBox="0 0 52 14"><text x="0" y="11" font-family="sans-serif" font-size="11" font-weight="600" fill="#0044d4">Redocly</text></svg>',
)}`;
const cdnAssets = ['https://cdn.redoc.ly/redoc/logo-mini-full.svg', 'https://cdn.redoc.ly/redoc/logo-mini.svg'];

const scratch = mkdtempSync(join(tmpdir(), 'build-docs-'));
try {
  const raw = join(scratch, 'index.html');
  try {
    execFileSync(
      join(root, 'node_modules', '.bin', 'redocly'),
      ['build-docs', resolve(input), '--output', raw, '--inlineBundle', '--lint-config', 'off', '--openapi.jsonSamplesExpandLevel', '3'],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (err) {
    process.stderr.write(String(err.stdout ?? '') + String(err.stderr ?? ''));
    console.error('build-docs: redocly build-docs failed');
    process.exit(1);
  }
  let html = readFileSync(raw, 'utf8');
  for (const asset of cdnAssets) html = html.split(asset).join(redoclyLogo);
  mkdirSync(dirname(resolve(output)), { recursive: true });
  writeFileSync(resolve(output), html);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
