/** The results table (printed and written into BENCHMARKS.md between markers). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export interface Row {
  scenario: string;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  serverRssBytes: number;
  dbRssBytes: number | null;
  /** CPU cores used during the measured run: server / db / load generator. */
  cpu: string;
  /** Whether ratios to the ceilings make sense (not for the ceilings themselves). */
  ratios: boolean;
  /** req/s of the floor server doing the least this scenario must do (floor (c), or check_license's own floor). */
  floor?: number;
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const pct = (value: number) => `${(value * 100).toFixed(0)}%`;

export function machineLine(): string {
  const cpu = cpus();
  return `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform} ${process.arch}`;
}

export function table(rows: Row[], ceilingA: number, ceilingB: number): string {
  const lines = [
    '| Scenario | req/s | p50 ms | p90 ms | p99 ms | non-2xx + errors | server RSS MB | db RSS MB | CPU cores server / db / load gen | ÷ ceiling (a) | ÷ ceiling (b) | ÷ its floor |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.errors} | ${mb(r.serverRssBytes)} | ${r.dbRssBytes === null ? '-' : mb(r.dbRssBytes)} | ${r.cpu} | ${
        r.ratios ? pct(r.requestsPerSecond / ceilingA) : '-'
      } | ${r.ratios ? pct(r.requestsPerSecond / ceilingB) : '-'} | ${r.floor ? pct(r.requestsPerSecond / r.floor) : '-'} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Replaces a generated section of BENCHMARKS.md (or appends it when its markers are missing):
 * `results` (npm run bench) or the section of one scenario run on its own (e.g. `usage`).
 */
export function writeBenchmarksMd(path: string, generated: string, section = 'results'): void {
  const [startMarker, endMarker] = section === 'results' ? [START, END] : [`<!-- bench:${section}:start -->`, `<!-- bench:${section}:end -->`];
  const block = `${startMarker}\n${generated.trim()}\n${endMarker}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\n';
  const start = current.indexOf(startMarker);
  const end = current.indexOf(endMarker);
  const next = start >= 0 && end > start ? current.slice(0, start) + block + current.slice(end + endMarker.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}
