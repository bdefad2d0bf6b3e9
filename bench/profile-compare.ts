/**
 * Sets the CPU profiles of floor (c) and of the server under scenario 2 (from `BENCH_PROFILE=1 npm run
 * bench`) side by side: CPU time per answered request, by what spent it (package groups, the app's
 * layers, Node's internals), and the difference. Usage: tsx bench/profile-compare.ts [bench/profiles]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Packages grouped by the part of the request they serve. */
const GROUPS: Record<string, string[]> = {
  'express and its middleware': ['express', 'router', 'body-parser', 'raw-body', 'finalhandler', 'qs', 'path-to-regexp', 'on-finished', 'type-is', 'accepts', 'content-type', 'iconv-lite', 'debug', 'mime-types', 'negotiator', 'statuses', 'http-errors', 'media-typer', 'parseurl', 'encodeurl', 'vary', 'proxy-addr', 'forwarded', 'helmet', 'side-channel', 'get-intrinsic', 'call-bound', 'bytes'],
  'request validation': ['express-openapi-validator', 'ajv', 'ajv-formats', 'fast-uri', 'fast-deep-equal'],
  'MongoDB driver, BSON, mongoose': ['mongodb', 'bson', 'mongoose', 'kareem', 'mpath', 'mquery', 'sift', 'whatwg-url'],
  logging: ['pino', 'pino-std-serializers', 'sonic-boom', 'fast-redact', '@pinojs/redact', 'quick-format-unescaped', 'thread-stream', 'safe-stable-stringify'],
};
const groupOf = new Map(Object.entries(GROUPS).flatMap(([group, packages]) => packages.map((p) => [p, group] as const)));

function category(url: string, fn: string): string {
  if (!url) {
    if (fn === 'writeBuffer' || fn === 'writev' || fn === 'writeUtf8String') return 'socket writes (native)';
    return fn.startsWith('(') ? fn : 'other native';
  }
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url);
  if (pkg) return groupOf.get(pkg[1]!) ?? `package ${pkg[1]}`;
  const app = /\/(?:dist\/)?(server|bench)\/(?:(http|domain|db|webhooks)\/)?/.exec(url);
  if (app && !url.startsWith('node:')) return app[2] ? `app: ${app[1]}/${app[2]}` : `app: ${app[1]}`;
  if (/^node:(internal\/(streams|net|http|stream_base_commons)|net|_http|http)/.test(url)) return 'Node http, net, streams';
  if (/^node:(internal\/)?crypto/.test(url)) return 'Node crypto (HMAC, signing)';
  if (/^node:internal\/(modules|bootstrap)/.test(url)) return 'module loading';
  if (url.startsWith('node:')) return 'Node, other';
  return 'other';
}

/** Milliseconds of CPU by category (the idle time left out). */
function costs(file: string): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const c = category(node.callFrame.url, node.callFrame.functionName);
    if (c !== '(idle)') out.set(c, (out.get(c) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}

/** The floor runs under tsx, whose loader thread writes a profile too: the main thread's is the largest. */
function largestIn(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no profile in ${dir}`);
  return join(dir, files.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0]!);
}

const dir = process.argv[2] ?? 'bench/profiles';
const answered = JSON.parse(readFileSync(join(dir, 'answered.json'), 'utf8')) as { floor: number; server: number };
const floor = costs(largestIn(join(dir, 'floor')));
const server = costs(join(dir, 'server.cpuprofile'));
const perRequest = (m: Map<string, number>, n: number, k: string) => (m.get(k) ?? 0) / n;
const rows = [...new Set([...floor.keys(), ...server.keys()])]
  .map((k) => ({ k, f: perRequest(floor, answered.floor, k), s: perRequest(server, answered.server, k) }))
  .sort((a, b) => b.s - b.f - (a.s - a.f));
const fmt = (x: number) => x.toFixed(3).padStart(8);
console.log(`requests answered over each process's life: floor (c) ${answered.floor}, server ${answered.server}`);
console.log(`${'CPU ms per request'.padEnd(34)}${'floor'.padStart(8)}${'server'.padStart(8)}${'diff'.padStart(8)}`);
for (const { k, f, s } of rows.filter((r) => r.f >= 0.005 || r.s >= 0.005)) console.log(`${k.padEnd(34)}${fmt(f)}${fmt(s)}${fmt(s - f)}`);
const total = (m: Map<string, number>, n: number) => [...m.values()].reduce((a, b) => a + b, 0) / n;
console.log(`${'total'.padEnd(34)}${fmt(total(floor, answered.floor))}${fmt(total(server, answered.server))}${fmt(total(server, answered.server) - total(floor, answered.floor))}`);
