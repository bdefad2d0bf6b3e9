/**
 * The README's executable walkthroughs (test/docs/walkthroughs.test.ts runs them):
 *
 * - `<!-- walkthrough: NAME -->` on the line before a ```sh (or ```bash) fence marks a runnable block;
 *   the blocks of one NAME concatenate in document order into one bash script. The first marker of a
 *   walkthrough may say `<!-- walkthrough: NAME, after: OTHER -->`: its script continues OTHER's
 *   (OTHER's blocks and outputs come first, recursively).
 * - `<!-- output: NAME -->` on the line before a ```text fence is what the preceding blocks print; a
 *   walkthrough's outputs concatenate in document order, and the script's stdout must equal them line
 *   by line, where `…` in an expected line matches any text (ids, keys, dates).
 * - Before running, exactly two things are rewritten: a line assigning a banner placeholder,
 *   `NAME='<LABEL from the banner>'`, gets the value the demo banner prints under LABEL (for the test
 *   account), and `http://localhost:3000` becomes the test server's base URL.
 */

export interface Walkthrough {
  name: string;
  /** Walkthroughs this one continues, in order. */
  after: string[];
  blocks: string[];
  /** The expected output, one entry per line. */
  expected: string[];
}

const MARKER = /^<!-- (walkthrough|output): ([a-z0-9-]+)(?:, after: ([a-z0-9-]+(?:, [a-z0-9-]+)*))? -->$/;

/** The walkthroughs of a Markdown document, by name, in the order they first appear. */
export function extractWalkthroughs(markdown: string): Map<string, Walkthrough> {
  const lines = markdown.split('\n');
  const walkthroughs = new Map<string, Walkthrough>();
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]!.trim());
    if (!marker) {
      if (/^<!--\s*(walkthrough|output)\b/.test(lines[i]!.trim())) throw new Error(`line ${i + 1}: malformed marker ${lines[i]}`);
      continue;
    }
    const [, kind, name, after] = marker as unknown as [string, 'walkthrough' | 'output', string, string | undefined];
    const fence = lines[i + 1]?.trim();
    const wanted = kind === 'walkthrough' ? ['```sh', '```bash'] : ['```text'];
    if (!fence || !wanted.includes(fence)) throw new Error(`line ${i + 1}: "${lines[i]}" must be followed by a ${wanted.join(' or ')} fence`);
    const end = lines.findIndex((line, j) => j > i + 1 && line.trim() === '```');
    if (end < 0) throw new Error(`line ${i + 2}: fence not closed`);
    const body = lines.slice(i + 2, end);
    let walkthrough = walkthroughs.get(name);
    if (kind === 'output') {
      if (!walkthrough) throw new Error(`line ${i + 1}: output of "${name}" before any of its blocks`);
      walkthrough.expected.push(...body);
    } else {
      if (!walkthrough) walkthroughs.set(name, (walkthrough = { name, after: [], blocks: [], expected: [] }));
      else if (after) throw new Error(`line ${i + 1}: only the first block of "${name}" may say what it continues`);
      if (after) walkthrough.after = after.split(', ');
      walkthrough.blocks.push(body.join('\n'));
    }
    i = end;
  }
  for (const walkthrough of walkthroughs.values()) for (const other of walkthrough.after) if (!walkthroughs.has(other)) throw new Error(`"${walkthrough.name}" continues unknown walkthrough "${other}"`);
  return walkthroughs;
}

/** The walkthrough's whole sequence: what it continues (each once, recursively), then itself. */
export function sequence(walkthroughs: Map<string, Walkthrough>, name: string): { script: string; expected: string[] } {
  const order: Walkthrough[] = [];
  const visit = (n: string, path: string[]) => {
    if (path.includes(n)) throw new Error(`walkthroughs continue each other in a cycle: ${[...path, n].join(' → ')}`);
    const walkthrough = walkthroughs.get(n);
    if (!walkthrough) throw new Error(`no walkthrough "${n}"`);
    if (order.includes(walkthrough)) return;
    for (const other of walkthrough.after) visit(other, [...path, n]);
    order.push(walkthrough);
  };
  visit(name, []);
  return { script: order.flatMap((w) => w.blocks).join('\n'), expected: order.flatMap((w) => w.expected) };
}

/** `label: value` lines of the demo banner (server/bootstrap.ts), by label. */
export function bannerValues(banner: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of banner.split('\n')) {
    const m = /^([A-Za-z][\w ]*?):\s+(\S+)$/.exec(line);
    if (m) values.set(m[1]!, m[2]!);
  }
  return values;
}

const PLACEHOLDER = /^(\s*(?:export\s+)?[A-Za-z_]\w*=)'<(.+) from the banner>'(\s*(?:#.*)?)$/;

/** The script with its banner placeholders filled in and http://localhost:3000 pointed at `baseUrl`; nothing else changes. */
export function prepareScript(script: string, banner: Map<string, string>, baseUrl: string): string {
  return script
    .split('\n')
    .map((line) => {
      const m = PLACEHOLDER.exec(line);
      if (!m) return line;
      const value = banner.get(m[2]!);
      if (value === undefined) throw new Error(`"${line.trim()}": the banner has no "${m[2]}" (it has: ${[...banner.keys()].join(', ')})`);
      return `${m[1]}'${value}'${m[3]}`;
    })
    .join('\n')
    .replaceAll('http://localhost:3000', baseUrl);
}

function linePattern(expected: string): RegExp {
  return new RegExp(`^${expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** Why `actual` (a script's stdout) does not match the expected lines, or undefined when it does. */
export function outputMismatch(actual: string, expected: readonly string[]): string | undefined {
  const lines = actual.endsWith('\n') ? actual.slice(0, -1).split('\n') : actual === '' ? [] : actual.split('\n');
  const show = (from: number, list: readonly string[]) => list.slice(Math.max(0, from - 2), from + 3).map((l, k) => `  ${Math.max(0, from - 2) + k + 1}: ${l}`).join('\n');
  for (let i = 0; i < Math.max(lines.length, expected.length); i++) {
    const got = lines[i];
    const want = expected[i];
    if (got !== undefined && want !== undefined && linePattern(want).test(got)) continue;
    const what = want === undefined ? `unexpected output line ${i + 1}` : got === undefined ? `output ends before expected line ${i + 1}` : `output line ${i + 1} differs`;
    return `${what}\n expected: ${want ?? '(nothing)'}\n actual:   ${got ?? '(nothing)'}\nexpected around it:\n${show(i, expected)}\nactual around it:\n${show(i, lines)}`;
  }
  return undefined;
}
