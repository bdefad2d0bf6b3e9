/**
 * Facts the README states about the repository that drift when code changes: the list of provider
 * states. (The number of Pact interactions is checked in test/contracts/readme-count.test.ts, which
 * runs after the consumer tests have written contracts/.)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STATE } from '../contracts/support/provider-states.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
/** The README with its line breaks and indentation joined, so a phrase wrapped over lines matches. */
const flat = readme.replace(/\s*\n\s*/g, ' ');

describe('README facts', () => {
  it('lists every provider state by its name', () => {
    const missing = Object.values(STATE).filter((name) => !flat.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
