/**
 * A Chromium for the tests that needs no system package: the headless shell that the npm package
 * `@sparticuz/chromium` ships (brotli-compressed, with the few shared libraries it needs beyond
 * glibc, its fonts and SwiftShader), unpacked once per package version under
 * node_modules/.cache/chromium-<version>/ and launched by playwright-core.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { projectRoot } from '../../server/paths.js';

export interface ChromiumLaunch {
  executablePath: string;
  args: string[];
  env: Record<string, string>;
}

const packageDir = join(projectRoot, 'node_modules', '@sparticuz', 'chromium');

/** The flags a headless shell needs here: no sandbox (tests run as root), one process, software GL. */
const ARGS = ['--no-sandbox', '--no-zygote', '--disable-setuid-sandbox', '--single-process', '--in-process-gpu', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-first-run'];

function unpack(target: string): void {
  const staging = `${target}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'lib'), { recursive: true });
  const inflate = (name: string) => brotliDecompressSync(readFileSync(join(packageDir, 'bin', `${name}.br`)));
  writeFileSync(join(staging, 'chromium'), inflate('chromium'));
  chmodSync(join(staging, 'chromium'), 0o755);
  // The tars: shared libraries (NSS, expat) into lib/, SwiftShader beside the binary (it looks there), fonts.
  for (const [name, dir] of [['al2023.tar', staging], ['swiftshader.tar', staging], ['fonts.tar', staging]] as const) {
    const tar = join(staging, name);
    writeFileSync(tar, inflate(name));
    execFileSync('tar', ['-xf', tar, '-C', dir]);
    rmSync(tar);
  }
  // The package's fonts.conf names Lambda's directories; point it at ours.
  writeFileSync(join(staging, 'fonts.conf'), `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(target, 'fonts')}</dir>\n  <cachedir>${join(target, 'fonts-cache')}</cachedir>\n</fontconfig>\n`);
  try {
    renameSync(staging, target);
  } catch (err) {
    // Another process unpacked it first.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(target, 'chromium'))) throw err;
  }
}

/** Where the unpacked Chromium is and how to launch it (unpacks on first use). */
export function chromiumLaunch(): ChromiumLaunch {
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const target = join(projectRoot, 'node_modules', '.cache', `chromium-${version}`);
  if (!existsSync(join(target, 'chromium'))) {
    mkdirSync(join(projectRoot, 'node_modules', '.cache'), { recursive: true });
    unpack(target);
  }
  return {
    executablePath: join(target, 'chromium'),
    args: ARGS,
    env: { LD_LIBRARY_PATH: join(target, 'lib'), FONTCONFIG_FILE: join(target, 'fonts.conf'), HOME: target },
  };
}
