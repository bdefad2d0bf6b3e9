import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest folder above this module holding `generated/openapi.json`. */
function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'generated', 'openapi.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (generated/openapi.json)');
    dir = parent;
  }
}

export const projectRoot = findProjectRoot();
export const bundledSpecJsonPath = join(projectRoot, 'generated', 'openapi.json');
export const bundledSpecYamlPath = join(projectRoot, 'generated', 'openapi.yaml');
/** The OpenAPI 3.0.3 rendition of the bundle (scripts/openapi-30.mjs), for tools that read only 3.0. */
export const specJson30Path = join(projectRoot, 'generated', 'openapi-3.0.json');
export const specYaml30Path = join(projectRoot, 'generated', 'openapi-3.0.yaml');
export const docsHtmlPath = join(projectRoot, 'generated', 'docs', 'index.html');
