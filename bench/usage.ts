/**
 * The usage scenario (`npm run bench -- usage`, also the last part of a full `npm run bench`): usage
 * reports and ledger exports of one license's month with 1M ledger entries in the database.
 *
 * The database (the embedded engine as its own process, or MONGODB_URI) holds LEDGER_TOTAL entries:
 * each measured license's month (its entries spread evenly over November 2026), optionally that
 * license's history before the month (spread evenly over the eleven months before it: a report of
 * the month must not read them), and the rest spread over 1,000 other licenses. Per license it measures, one request at a time after a warm-up:
 * - GET /api/v1/licenses/{id}/usage/ over the month, daily and hourly buckets (latency of REPEAT
 *   requests: p50, p90, max);
 * - GET /api/v1/licenses/{id}/ledger/ over the month as NDJSON and CSV (entries per second, the
 *   whole body read by the client).
 * Results replace the `usage` section of BENCHMARKS.md (bench/run.ts; BENCH_WRITE=0: print only).
 * Knobs: BENCH_USAGE_LEDGER (total entries, default 1,000,000), BENCH_USAGE_MONTHS (entries of each
 * measured license's month, default 10000,10000+110000,100000: `M+H` is a month of M entries of a
 * license with H more entries in the months before).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt, freePort, rssOf, startApiServer, startEmbeddedDb, type Child } from './processes.js';
import { machineLine } from './report.js';
import { FEATURE, growLicenses, insertLedgerEntries, ledgerDocument, openBenchData, type BenchData } from './seed.js';

const LEDGER_TOTAL = Number(process.env.BENCH_USAGE_LEDGER ?? 1_000_000);
/** Each measured license: its month's entries and its entries before the month. */
const MEASURED = (process.env.BENCH_USAGE_MONTHS ?? '10000,10000+110000,100000')
  .split(',')
  .map((spec) => spec.split('+').map(Number))
  .filter(([month]) => month! > 0)
  .map(([month, history]) => ({ month: month!, history: history ?? 0 }));
const HISTORY_START = Date.parse('2025-12-01T00:00:00Z');
const REPEAT = 20;
const WARMUP = 3;
const MONTH_START = Date.parse('2026-11-01T00:00:00Z');
const MONTH_END = Date.parse('2026-12-01T00:00:00Z');

const started = Date.now();
const log = (text: string) => console.error(`[bench usage ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}`);

interface Measured {
  entries: number;
  history: number;
  daily: Latency;
  hourly: Latency;
  ndjsonPerSecond: number;
  csvPerSecond: number;
}

interface Latency {
  p50: number;
  p90: number;
  max: number;
}

/** `count` entries of one license evenly spread over [start, end): amounts 1, totals counting up from `totalBefore`. */
async function insertSpread(data: BenchData, licenseId: number, count: number, start: number, end: number, totalBefore: number): Promise<void> {
  const step = (end - start) / count;
  const batch = 10_000;
  for (let done = 0; done < count; done += batch) {
    const docs = [];
    for (let i = done; i < Math.min(count, done + batch); i += 1) docs.push(ledgerDocument(data.accountId, licenseId, 1, totalBefore + i + 1, new Date(start + Math.floor(i * step)), null));
    await data.db.models.LedgerEntry.collection.insertMany(docs as never[], { ordered: false });
  }
}

function latencyOf(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1]! };
}

async function timed(url: string, key: string, accept = 'application/json'): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Api-Key ${key}`, accept } });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body.slice(0, 300)}`);
  return { ms: performance.now() - t0, body };
}

async function measureLicense(base: string, key: string, licenseId: number, entries: number, history: number): Promise<Measured> {
  const range = `from=${new Date(MONTH_START).toISOString()}&to=${new Date(MONTH_END).toISOString()}`;
  const report = async (interval: string) => {
    const url = `${base}/api/v1/licenses/${licenseId}/usage/?${range}&interval=${interval}&feature=${FEATURE}`;
    const first = JSON.parse((await timed(url, key)).body) as { totals: { count: number } };
    if (first.totals.count !== entries) throw new Error(`the ${interval} report counts ${first.totals.count} entries, ${entries} were inserted`);
    for (let i = 1; i < WARMUP; i += 1) await timed(url, key);
    const samples: number[] = [];
    for (let i = 0; i < REPEAT; i += 1) samples.push((await timed(url, key)).ms);
    return latencyOf(samples);
  };
  const daily = await report('day');
  const hourly = await report('hour');
  const exportRate = async (format: 'ndjson' | 'csv') => {
    const url = `${base}/api/v1/licenses/${licenseId}/ledger/?${range}&format=${format}`;
    await timed(url, key);
    let best = 0;
    for (let i = 0; i < 3; i += 1) {
      const { ms, body } = await timed(url, key);
      const lines = body.split('\n').length - 1 - (format === 'csv' ? 1 : 0);
      if (lines !== entries) throw new Error(`the ${format} export has ${lines} entries, ${entries} were inserted`);
      best = Math.max(best, entries / (ms / 1000));
    }
    return best;
  };
  return { entries, history, daily, hourly, ndjsonPerSecond: await exportRate('ndjson'), csvPerSecond: await exportRate('csv') };
}

const fmt = (n: number) => n.toFixed(n < 10 ? 1 : 0);

function table(measured: Measured[], engineRss: number | null): string {
  const lines = [
    `Command: \`npm run bench -- usage\` (database: ${process.env.MONGODB_URI ? 'MONGODB_URI' : 'embedded engine, its own process, in memory'}; ${LEDGER_TOTAL.toLocaleString('en-US')} ledger entries in all; server: \`node dist/server/main.js\`, NODE_ENV=production; one request at a time, ${REPEAT} measured after ${WARMUP} warm-up). ${machineLine()}`,
    '',
    "| One license's month | daily report (30 buckets) p50 / p90 / max ms | hourly report (720 buckets) p50 / p90 / max ms | NDJSON export, entries/s | CSV export, entries/s |",
    '|---|---|---|---|---|',
    ...measured.map(
      (m) =>
        `| ${m.entries.toLocaleString('en-US')} entries${m.history ? ` (the license has ${m.history.toLocaleString('en-US')} more before the month)` : ''} | ${fmt(m.daily.p50)} / ${fmt(m.daily.p90)} / ${fmt(m.daily.max)} | ${fmt(m.hourly.p50)} / ${fmt(m.hourly.p90)} / ${fmt(m.hourly.max)} | ${Math.round(m.ndjsonPerSecond).toLocaleString('en-US')} | ${Math.round(m.csvPerSecond).toLocaleString('en-US')} |`,
    ),
    '',
    `Targets (issue #24): a month's report under 100 ms, exports at least 50,000 entries/s.${engineRss !== null ? ` Engine RSS after the run: ${(engineRss / 1024 / 1024).toFixed(0)} MB.` : ''}`,
  ];
  return lines.join('\n');
}

export async function usageBench(): Promise<string> {
  ensureBuilt();
  const children: Child[] = [];
  let data: BenchData | undefined;
  try {
    let uri = process.env.MONGODB_URI;
    let engine: Child | null = null;
    if (!uri) {
      const db = await startEmbeddedDb();
      engine = db.child;
      children.push(engine);
      uri = db.uri;
    }
    const dbName = `bench_usage_${randomBytes(4).toString('hex')}`;
    const secretsKey = randomBytes(32).toString('base64');
    data = await openBenchData(uri, dbName, secretsKey);
    await growLicenses(data, MEASURED.length);
    const t0 = Date.now();
    for (const [i, { month, history }] of MEASURED.entries()) {
      if (history) await insertSpread(data, data.licenses[i]!.id, history, HISTORY_START, MONTH_START, 0);
      await insertSpread(data, data.licenses[i]!.id, month, MONTH_START, MONTH_END, history);
    }
    const rest = LEDGER_TOTAL - MEASURED.reduce((s, m) => s + m.month + m.history, 0);
    if (rest > 0) await insertLedgerEntries(data, rest);
    log(`inserted ${LEDGER_TOTAL.toLocaleString('en-US')} ledger entries in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    const port = await freePort();
    const server = await startApiServer({ port, env: { NODE_ENV: 'production', MONGODB_URI: uri, MONGODB_DB_NAME: dbName, SECRETS_KEY: secretsKey, LOG_LEVEL: 'warn', RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0' } });
    children.push(server);
    await sleep(500);
    const measured: Measured[] = [];
    for (const [i, { month, history }] of MEASURED.entries()) {
      const m = await measureLicense(`http://127.0.0.1:${port}`, data.credentials.managementApiKey, data.licenses[i]!.id, month, history);
      log(`${month} entries (+${history} before): daily p50 ${fmt(m.daily.p50)} ms, hourly p50 ${fmt(m.hourly.p50)} ms, NDJSON ${Math.round(m.ndjsonPerSecond)}/s, CSV ${Math.round(m.csvPerSecond)}/s`);
      measured.push(m);
    }
    return table(measured, engine ? rssOf(engine.process.pid!) : null);
  } finally {
    await data?.db.close().catch(() => undefined);
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
  }
}
