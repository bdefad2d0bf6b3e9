#!/usr/bin/env node
// `npm start`: compiles the server when dist/ is missing or older than the sources, then serves.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'server', 'main.js');

function newestMtime(dir) {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const stat = statSync(full);
    newest = Math.max(newest, stat.isDirectory() ? newestMtime(full) : stat.mtimeMs);
  }
  return newest;
}

const sourcesChanged = () => Math.max(newestMtime(join(root, 'server')), statSync(join(root, 'generated', 'schema.d.ts')).mtimeMs);
if (!existsSync(entry) || statSync(entry).mtimeMs < sourcesChanged()) {
  console.error('npm start: compiling the server (tsc -p tsconfig.build.json) ...');
  const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// Without MONGODB_URI the embedded engine runs in this process, as `npm run db` runs it: two malloc
// arenas (with glibc's default of one per thread the C heap of an engine with a data directory kept
// hundreds of MB it no longer used, #23). Its documents are BSON outside the JS heap, so the default
// young generation is kept (the 64 MB semi-space it once needed committed 130 MB of RSS for nothing).
// Allocations of 128 KB and more (wire messages, the journal's write buffers, slabs) are mapped on
// their own and unmapped when freed (glibc's default threshold rises to 32 MB as large blocks are
// freed, and then they are left as holes in the C heap: ~25-50 MB after loading 1M documents).
const env = process.env.MONGODB_URI ? process.env : { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', ...process.env };
const child = spawn(process.execPath, [entry], { cwd: root, stdio: 'inherit', env });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
// `npm start` runs this with `exec`, so npm's forwarded SIGTERM reaches this process. Should the
// process that started it die without a signal (npm killed with SIGKILL), stop the server the same
// way rather than leave it running as an orphan.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) child.kill('SIGTERM');
}, 1000).unref();
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
