/**
 * Generated code for the interop suite, made once per spec: the component schemas of
 * generated/openapi.json as one JSON Schema document, and quicktype's Go and Python types for the
 * scenario's request and response schemas. Everything lands in a directory named after a hash of its
 * inputs (spec, generator version, scenario sources) under node_modules/.cache/interop, so test
 * files and later runs reuse it; a directory is published by an atomic rename, complete or not at all.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../server/paths.js';
import { quicktypeBin, toolchainEnv } from './toolchains.js';

export const interopDir = join(projectRoot, 'test', 'interop');
export const cacheRoot = join(projectRoot, 'node_modules', '.cache', 'interop');
const specPath = join(projectRoot, 'generated', 'openapi.json');

/** The component schemas the scenario sends and reads, in scenario order. */
export const SCENARIO_SCHEMAS = [
  'V1CreateProductRequest',
  'V1Product',
  'V1CreateProductFeatureRequest',
  'V1ProductFeature',
  'V1CreateLicenseRequest',
  'V1License',
  'V4ActivateLicenseRequest',
  'V4License',
  'V4AddFeatureConsumptionRequest',
  'V4FeatureConsumption',
  'V3CreateActivationRequest',
  'V3ActivationToken',
  'V3IncrementMeterAttributeRequest',
  'V3MeterAttributeUses',
  'V1UpdateLicenseFeaturesRequest',
] as const;

/** The steps every scenario runs, in order (each client prints one result line per step). */
export const SCENARIO_STEPS = [
  'create_product',
  'create_product_feature',
  'create_license',
  'activate_license',
  'add_feature_consumption',
  'check_license',
  'v3_create_activation',
  'v3_increment_meter_attribute',
  'update_features',
] as const;

/**
 * `components.schemas` as a draft-07 JSON Schema document: the schemas under `definitions`, every
 * `#/components/schemas/X` reference rewritten to `#/definitions/X`. OpenAPI 3.1 schemas are JSON
 * Schema 2020-12, which quicktype reads as such (type arrays, `const`, `examples`).
 */
export function componentsAsJsonSchema(spec: { components: { schemas: Record<string, unknown> } }): string {
  const document = { $schema: 'http://json-schema.org/draft-07/schema#', definitions: spec.components.schemas };
  return JSON.stringify(document, null, 2).replaceAll('"#/components/schemas/', '"#/definitions/');
}

/** The quicktype command lines the suite runs (also quoted in the README), relative to `dir`. */
export function quicktypeArgs(language: 'go' | 'python'): string[] {
  const sources = SCENARIO_SCHEMAS.map((name) => `schemas.json#/definitions/${name}`);
  return language === 'go'
    ? ['--src-lang', 'schema', '--lang', 'go', '--package', 'main', '--out', 'types.go', ...sources]
    : ['--src-lang', 'schema', '--lang', 'python', '--python-version', '3.7', '--out', 'interop_types.py', ...sources];
}

export interface Generated {
  /** Holds schemas.json, types.go, interop_types.py. */
  dir: string;
}

function hashOf(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * Makes `dir` once: `build` fills a fresh work directory, which is then renamed to `dir` (so a
 * directory that exists is complete); when another process publishes the same inputs first, theirs
 * is kept (it is identical).
 */
function publishOnce(dir: string, build: (work: string) => void): void {
  if (existsSync(dir)) return;
  mkdirSync(cacheRoot, { recursive: true });
  const work = mkdtempSync(join(cacheRoot, 'tmp-'));
  try {
    build(work);
    renameSync(work, dir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
}

/** Generates (or finds) the schemas and types for the current spec. */
export function generateTypes(): Generated {
  const specText = readFileSync(specPath, 'utf8');
  const quicktypeVersion = execFileSync(quicktypeBin(), ['--version'], { encoding: 'utf8' }).trim();
  const dir = join(cacheRoot, `types-${hashOf([specText, quicktypeVersion, readFileSync(new URL(import.meta.url), 'utf8')])}`);
  publishOnce(dir, (work) => {
    writeFileSync(join(work, 'schemas.json'), componentsAsJsonSchema(JSON.parse(specText)));
    for (const language of ['go', 'python'] as const) {
      execFileSync(quicktypeBin(), quicktypeArgs(language), { cwd: work, env: toolchainEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    }
  });
  return { dir };
}

/** Builds the Go scenario (main.go + the generated types.go) once per input hash; returns the binary. */
export function buildGoScenario(generated: Generated): string {
  const mainGo = readFileSync(join(interopDir, 'go-scenario', 'main.go'), 'utf8');
  const typesGo = readFileSync(join(generated.dir, 'types.go'), 'utf8');
  const dir = join(cacheRoot, `go-${hashOf([mainGo, typesGo])}`);
  publishOnce(dir, (work) => {
    writeFileSync(join(work, 'main.go'), mainGo);
    writeFileSync(join(work, 'types.go'), typesGo);
    execFileSync('go', ['build', '-o', 'scenario', 'main.go', 'types.go'], { cwd: work, env: toolchainEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  });
  return join(dir, 'scenario');
}
