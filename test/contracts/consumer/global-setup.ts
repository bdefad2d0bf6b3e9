import { mkdirSync, rmSync } from 'node:fs';
import { contractsDir, pactFile } from '../support/pact-setup.js';

/**
 * Pact merges interactions into an existing file, so a renamed or deleted interaction would linger.
 * The consumer run starts from an empty file: the committed pact is exactly what the tests declare.
 */
export default function setup(): void {
  mkdirSync(contractsDir, { recursive: true });
  rmSync(pactFile, { force: true });
}
