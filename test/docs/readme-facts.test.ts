/**
 * Facts the README states about the repository that drift when code changes: the number of Pact
 * interactions and the list of provider states.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STATE } from '../contracts/support/provider-states.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
/** The README with its line breaks and indentation joined, so a phrase wrapped over lines matches. */
const flat = readme.replace(/\s*\n\s*/g, ' ');

describe('README facts', () => {
  it('states the number of Pact interactions in contracts/', () => {
    const count = readdirSync(`${root}contracts`)
      .filter((f) => f.endsWith('.json'))
      .reduce((n, f) => n + (JSON.parse(readFileSync(`${root}contracts/${f}`, 'utf8')) as { interactions: unknown[] }).interactions.length, 0);
    const stated = /\((\d+) in all, tested against `contracts\/\*\.json`\)/.exec(flat)?.[1];
    expect(stated === undefined ? 'no count' : Number(stated)).toBe(count);
  });

  it('lists every provider state by its name', () => {
    const missing = Object.values(STATE).filter((name) => !flat.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
