/**
 * The README states how many Pact interactions exist; this runs in the contracts-provider project,
 * after the consumer tests have rewritten contracts/ (their global setup empties it first).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('README facts about contracts/', () => {
  it('states the number of Pact interactions in contracts/', () => {
    const flat = readFileSync(`${root}README.md`, 'utf8').replace(/\s*\n\s*/g, ' ');
    const count = readdirSync(`${root}contracts`)
      .filter((f) => f.endsWith('.json'))
      .reduce((n, f) => n + (JSON.parse(readFileSync(`${root}contracts/${f}`, 'utf8')) as { interactions: unknown[] }).interactions.length, 0);
    expect(count).toBeGreaterThan(100);
    const stated = /\((\d+) in all, tested against `contracts\/\*\.json`\)/.exec(flat)?.[1];
    expect(stated === undefined ? 'no count' : Number(stated)).toBe(count);
  });
});
