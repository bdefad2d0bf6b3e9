import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/paths.js';
import { v4ErrorCodes } from './v4-errors.js';

/** The codes of the README's License API table (`### Error codes`, rows `| status | \`code\` | when |`). */
function readmeV4Codes(): string[] {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Error codes'), readme.indexOf('## Web API v3'));
  return section
    .split('\n')
    .filter((line) => /^\| \d{3} \|/.test(line))
    .flatMap((line) => [...line.split('|')[2]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!));
}

describe('License API v4 error codes', () => {
  it('the README table maps exactly the codes of the spec (V4Error), each once', () => {
    const readme = readmeV4Codes();
    expect(readme.filter((code, i) => readme.indexOf(code) !== i)).toEqual([]);
    expect([...readme].sort()).toEqual([...v4ErrorCodes()].sort());
  });
});
