/**
 * The toolchains of the interop suite and whether this machine has them. In CI (`CI=true`) a missing
 * toolchain is a failure, not a skip: `.ci/install-system-deps` installs Go, kin-openapi and Perl's
 * OpenAPI::Client from Debian, and `npm ci` installs quicktype.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../server/paths.js';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** quicktype from node_modules (QUICKTYPE_BIN overrides it, for trying another build). */
export function quicktypeBin(): string {
  return process.env.QUICKTYPE_BIN ?? join(projectRoot, 'node_modules', '.bin', 'quicktype');
}

const goCache = join(projectRoot, 'node_modules', '.cache', 'interop', 'go-build');

/** The environment every tool runs in: Go without modules (stdlib only, offline), its build cache kept between runs. */
export function toolchainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  mkdirSync(goCache, { recursive: true });
  return { ...process.env, GO111MODULE: 'off', GOCACHE: goCache, GOFLAGS: '', GOTOOLCHAIN: 'local', ...extra };
}

function runs(command: string, args: readonly string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 });
  return result.status === 0;
}

export interface Toolchain {
  name: string;
  available: boolean;
  /** How to get it, for the failure message. */
  install: string;
}

export const toolchains = {
  quicktype: (): Toolchain => ({ name: 'quicktype', available: existsSync(quicktypeBin()), install: 'npm ci (devDependency quicktype@26.0.0)' }),
  go: (): Toolchain => ({ name: 'go', available: runs('go', ['version']), install: 'sudo .ci/install-system-deps (Debian golang-go)' }),
  python: (): Toolchain => ({ name: 'python3', available: runs('python3', ['-c', 'import dataclasses, email.utils, urllib.request, dateutil.parser']), install: 'sudo .ci/install-system-deps (Debian python3, python3-dateutil: the generated classes import dateutil.parser)' }),
  perlOpenApiClient: (): Toolchain => ({ name: 'Perl OpenAPI::Client', available: runs('perl', ['-MOpenAPI::Client', '-e', '1']), install: 'sudo .ci/install-system-deps (Debian libopenapi-client-perl)' }),
};

/** Whether a test needing these toolchains runs: yes when all are there, or in CI (where their absence then fails it). */
export function shouldRun(needed: readonly Toolchain[]): boolean {
  return inCI || needed.every((toolchain) => toolchain.available);
}

/** The failure message for missing toolchains, or undefined. */
export function missingMessage(needed: readonly Toolchain[]): string | undefined {
  const missing = needed.filter((toolchain) => !toolchain.available);
  return missing.length === 0 ? undefined : `missing toolchain(s): ${missing.map((toolchain) => `${toolchain.name} (${toolchain.install})`).join(', ')}`;
}
