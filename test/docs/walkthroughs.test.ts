/**
 * The README's shell walkthroughs run as written (test/docs/walkthroughs.ts says how they are marked):
 * each one as one bash script, against a freshly started server with a fresh account whose
 * credentials stand in for the demo banner's, and prints exactly the output the README shows.
 * They need curl, jq and openssl (and node): without them the runs skip, except in CI (`CI=true`),
 * where a missing tool fails them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bootstrapAccounts } from '../../server/bootstrap.js';
import type { Config } from '../../server/config.js';
import type { Logger } from '../../server/logger.js';
import type { Services } from '../../server/services.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bannerValues, extractWalkthroughs, outputMismatch, prepareScript, sequence } from './walkthroughs.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** The walkthroughs the README must have (a removed or renamed one fails here, not silently). */
const WALKTHROUGHS = ['quickstart', 'management', 'license-api', 'web-api-v3', 'floating-v4', 'floating-v3', 'webhooks', 'usage'];

const TOOLS: Array<[string, string[]]> = [['curl', ['--version']], ['jq', ['--version']], ['openssl', ['version']], ['bash', ['--version']]];
const missingTools = TOOLS.filter(([tool, args]) => spawnSync(tool, args, { stdio: 'ignore' }).status !== 0).map(([tool]) => tool);

/** The banner the first `npm start` prints (server/bootstrap.ts), for this test server's account. */
async function bannerOf(t: TestServer): Promise<string> {
  const services = { accounts: { countAccounts: async () => 0, createAccount: async () => ({ account: t.account, credentials: t.credentials }) } } as unknown as Services;
  const banner = await bootstrapAccounts({ bootstrap: {} } as unknown as Config, services, {} as Logger);
  return banner!(t.baseUrl);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `bash -c <script>` from the repository root, in its own process group (killed afterwards: a walkthrough's background receiver never outlives it). */
function runBash(script: string, timeoutMs: number): Promise<Run> {
  const prelude = `set -euo pipefail\ntrap 'echo "walkthrough failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR\n`;
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', prelude + script], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      stderr += `\n(timed out after ${timeoutMs} ms)`;
      killGroup();
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      killGroup();
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the walkthrough harness', () => {
  const doc = [
    'Intro.',
    '<!-- walkthrough: first -->',
    '```sh',
    "KEY='<management API key from the banner>'",
    'curl -sS http://localhost:3000/healthz',
    '```',
    '<!-- output: first -->',
    '```text',
    '{"status":"ok"}',
    '```',
    '<!-- walkthrough: second, after: first -->',
    '```bash',
    'echo "id 42 at 2026-12-02T10:00:00.000Z"',
    '```',
    '<!-- output: second -->',
    '```text',
    'id … at …',
    '```',
    '```sh',
    'echo not a walkthrough',
    '```',
  ].join('\n');

  it('concatenates the blocks and outputs of a walkthrough after those it continues', () => {
    const walkthroughs = extractWalkthroughs(doc);
    expect([...walkthroughs.keys()]).toEqual(['first', 'second']);
    expect(sequence(walkthroughs, 'second')).toEqual({
      script: ["KEY='<management API key from the banner>'", 'curl -sS http://localhost:3000/healthz', 'echo "id 42 at 2026-12-02T10:00:00.000Z"'].join('\n'),
      expected: ['{"status":"ok"}', 'id … at …'],
    });
  });

  it('refuses markers it cannot use', () => {
    expect(() => extractWalkthroughs('<!-- walkthrough: x -->\nno fence')).toThrow('must be followed by a ```sh or ```bash fence');
    expect(() => extractWalkthroughs('<!-- output: x -->\n```text\nhi\n```')).toThrow('output of "x" before any of its blocks');
    expect(() => extractWalkthroughs('<!-- walkthrough: x, after: y -->\n```sh\ntrue\n```')).toThrow('continues unknown walkthrough "y"');
    expect(() => extractWalkthroughs('<!-- walkthrough: X Y -->\n```sh\ntrue\n```')).toThrow('malformed marker');
  });

  it('fills in exactly the banner placeholder assignments and the base URL', () => {
    const banner = bannerValues('account id:          7\nmanagement API key:  mgmt_abc\n\nTry it:\n  curl -H \'Authorization: Api-Key mgmt_abc\' http://localhost:3000/api/v1/products/\n');
    expect([...banner]).toEqual([['account id', '7'], ['management API key', 'mgmt_abc']]);
    const script = ["KEY='<management API key from the banner>'   # from the banner", "echo 'KEY=<management API key from the banner>'", 'curl http://localhost:3000/x http://localhost:30001/'].join('\n');
    expect(prepareScript(script, banner, 'http://127.0.0.1:5555')).toBe(["KEY='mgmt_abc'   # from the banner", "echo 'KEY=<management API key from the banner>'", 'curl http://127.0.0.1:5555/x http://127.0.0.1:55551/'].join('\n'));
    expect(() => prepareScript("T='<v4 token from the banner>'", banner, 'http://x')).toThrow('the banner has no "v4 token" (it has: account id, management API key)');
  });

  it('matches the output line by line, … standing for any text, and fails on any drift', () => {
    const expected = ['{"id":…,"status":"inactive"}', 'done'];
    expect(outputMismatch('{"id":4242,"status":"inactive"}\ndone\n', expected)).toBeUndefined();
    expect(outputMismatch('{"id":4242,"status":"disabled"}\ndone\n', expected)).toContain('output line 1 differs');
    expect(outputMismatch('{"id":4242,"status":"inactive"}\n', expected)).toContain('output ends before expected line 2');
    expect(outputMismatch('{"id":4242,"status":"inactive"}\ndone\nmore\n', expected)).toContain('unexpected output line 3');
    expect(outputMismatch('x{"id":1,"status":"inactive"}\ndone\n', expected)).toContain('output line 1 differs');
  });
});

describe('README walkthroughs', () => {
  const walkthroughs = extractWalkthroughs(readme);

  it('has every walkthrough, each with its expected output', () => {
    expect([...walkthroughs.keys()].filter((name) => name !== 'set-up')).toEqual(WALKTHROUGHS);
    for (const name of WALKTHROUGHS) expect(walkthroughs.get(name)!.expected.length, name).toBeGreaterThan(0);
  });

  it('runs no shell block against the server that is not part of a walkthrough', () => {
    const marked = new Set([...walkthroughs.values()].flatMap((w) => w.blocks));
    const unmarked = [...readme.matchAll(/```(?:sh|bash)\n([\s\S]*?)\n```/g)].map((m) => m[1]!).filter((body) => /\bcurl\b/.test(body) && /localhost:3000/.test(body) && !marked.has(body));
    expect(unmarked).toEqual([]);
  });

  for (const name of WALKTHROUGHS) {
    it.skipIf(missingTools.length > 0 && !inCI)(`"${name}" runs as written on a fresh server and prints what the README shows`, async () => {
      expect(missingTools, `the walkthroughs need ${missingTools.join(', ')} (apt-get install curl jq openssl)`).toEqual([]);
      const { script, expected } = sequence(walkthroughs, name);
      const t = await startTestServer();
      try {
        const run = await runBash(prepareScript(script, bannerValues(await bannerOf(t)), t.baseUrl), 60_000);
        const mismatch = outputMismatch(run.stdout, expected);
        expect({ code: run.code, mismatch }, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toEqual({ code: 0, mismatch: undefined });
        // The same output against a README whose last expected line drifted is a failure.
        const drifted = expected.map((line, i) => (i === expected.length - 1 ? `${line} (drifted)` : line));
        expect(outputMismatch(run.stdout, drifted)).toContain(`output line ${expected.length} differs`);
      } finally {
        await t.stop();
      }
    }, 120_000);
  }
});
