/**
 * Summarises a .cpuprofile (from `BENCH_PROFILE=1 npm run bench`): self time by function and by
 * file, top entries. Usage: tsx bench/profile-summary.ts bench/profiles/server.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = profile.samples.length;
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const n = hits.get(node.id) ?? 0;
  if (!n) continue;
  const url = node.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|dist|server|bench)\//, '$1/');
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${url}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + n);
  const key = url.replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*/, '$1') || node.callFrame.functionName;
  byFile.set(key, (byFile.get(key) ?? 0) + n);
}
const top = Number(topArg ?? 25);
const show = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((n / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
};
show('self time by function', byFunction);
show('self time by file / package', byFile);
