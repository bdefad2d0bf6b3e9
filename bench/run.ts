/**
 * `npm run bench`: throughput, latency and memory of the consumption hot path (see BENCHMARKS.md).
 *
 * Starts the database (the embedded engine as its own process, or MONGODB_URI), the ceiling and floor
 * servers and the API server each as their own process, seeds data directly into the database, and
 * drives load with autocannon: a warm-up, then a measured run of fixed duration per scenario. Then an
 * open-loop latency table (fixed arrival rates) for ceiling (b), floor (c) and scenario 2, and the
 * growth rows (licenses with many seats, features, applied idempotency keys; a large ledger) on an
 * engine and server of their own. Prints the tables and writes them into BENCHMARKS.md.
 *
 * Environment: BENCH_WARMUP (s, default 3), BENCH_DURATION (s, default 8), BENCH_CONNECTIONS
 * (default 32), BENCH_SERVER_WARMUP (s added to the warm-up of the first run against a freshly started
 * server, default 12: V8 keeps optimising for longer than 3 s on 2 busy cores), BENCH_OPEN_LOOP_RATES
 * (req/s, default 200,400,800), BENCH_OPEN_LOOP_SECONDS (default 10), BENCH_GROWTH_DURATION (s measured
 * per growth row, default 6), BENCH_LEDGER_SIZES (entries of the ledger growth rows, default
 * 1000000,5000000), BENCH_PROFILE=1 (writes --cpu-prof profiles of floor (c) and of the server under
 * scenario 2, and of the engine over both, to bench/profiles/), BENCH_WRITE=0 (do not touch BENCHMARKS.md), MONGODB_URI (use a real MongoDB;
 * fresh databases are used and dropped).
 *
 * Then the scenarios with a section of their own (SCENARIOS below: `usage`, see bench/usage.ts);
 * `npm run bench -- <scenario>` runs one of them alone.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { booleanSetting } from '../server/config.js';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Request as AutocannonRequest } from 'autocannon';
import { signLicenseApiRequest } from '../client/license-api-signature.js';
import { fixedAmount, measure, type LoadRequest, type LoadResult } from './load.js';
import { cpuSecondsOf, ensureBuilt, freePort, root, rssOf, startApiServer, startCeilingServer, startEmbeddedDb, type Child } from './processes.js';
import { machineLine, table, writeBenchmarksMd, type Row } from './report.js';
import { openLoop, type OpenLoopResult } from './open-loop.js';
import { usageBench } from './usage.js';
import { addHotLicense, documentSize, FEATURE, growLicenses, insertLedgerEntries, insertLicenses, openBenchData, PLAIN, storedState, type BenchData, type BenchLicense } from './seed.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PROFILE = booleanSetting(process.env, 'BENCH_PROFILE', false);
/** Extra warm-up of the first run against a freshly started server (JIT, connection pool, caches). */
const SERVER_WARMUP = Number(process.env.BENCH_SERVER_WARMUP ?? 12);
const CORRECTNESS_REQUESTS = 2_000;
/** Rates of the open-loop latency table (req/s) and how long each is measured. */
const OPEN_LOOP_RATES = (process.env.BENCH_OPEN_LOOP_RATES ?? '200,400,800').split(',').map(Number).filter((r) => r > 0);
const OPEN_LOOP_SECONDS = Number(process.env.BENCH_OPEN_LOOP_SECONDS ?? 10);
/** Measured seconds of each growth row, and licenses per growth population. */
const GROWTH_DURATION = Number(process.env.BENCH_GROWTH_DURATION ?? 6);
const GROWTH_LICENSES = 20;
/** Ledger sizes of the ledger growth rows (g4, g5, ...). */
const LEDGER_SIZES = (process.env.BENCH_LEDGER_SIZES ?? '1000000,5000000').split(',').map(Number).filter((n) => n > 0);
/** Heap limit of the growth rows' engine (MB). */
const GROWTH_ENGINE_HEAP_MB = 16_384;

const started = Date.now();
const log = (text: string) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}`);

// ---- requests -------------------------------------------------------------------------------

/** Headers of a signed License API request (signed by the typed client); a signature depends only on the Date header. */
function signedHeaders(data: BenchData): Record<string, string> {
  const signed = signLicenseApiRequest({ apiKey: data.credentials.licenseApiKey, sharedKey: data.credentials.sharedKey });
  return { date: signed.Date, authorization: signed.Authorization, accept: 'application/json' };
}

function addFeatureConsumption(data: BenchData, licenses: BenchLicense[], headers = signedHeaders(data)): LoadRequest[] {
  return licenses.map((l) => ({
    method: 'POST',
    path: '/api/v4/add_feature_consumption',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ product: data.product.shortCode, license_key: l.key, hardware_id: l.hardwareId, feature: FEATURE, consumptions: 1 }),
  }));
}

function checkLicense(data: BenchData, licenses: BenchLicense[]): LoadRequest[] {
  const headers = signedHeaders(data);
  return licenses.map((l) => ({
    method: 'GET',
    path: `/api/v4/check_license?${new URLSearchParams({ product: data.product.shortCode, license_key: l.key, hardware_id: l.hardwareId }).toString()}`,
    headers,
  }));
}

function meterAttributes(licenses: BenchLicense[]): LoadRequest[] {
  return licenses.map((l) => ({
    method: 'POST',
    path: `/v3/activations/meter-attributes/${FEATURE}`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ increment: 1, activationId: l.activationId, accountId: '' }),
  }));
}

/** `count` licenses spread evenly over all seeded ones. */
function spread(data: BenchData, count: number): BenchLicense[] {
  const step = data.licenses.length / count;
  return Array.from({ length: count }, (_, i) => data.licenses[Math.floor(i * step)]!);
}

// ---- measuring ------------------------------------------------------------------------------

interface Measured extends LoadResult {
  serverRss: number;
  dbRss: number | null;
  /** CPU use during the measured run, in cores (1.0 = one core busy). */
  serverCpu: number;
  dbCpu: number | null;
  benchCpu: number;
}

async function run(label: string, url: string, requests: LoadRequest[], server: Child, db: Child | null, warmupSeconds = WARMUP, durationSeconds = DURATION): Promise<Measured> {
  log(`${label}: ${warmupSeconds} s warm-up + ${durationSeconds} s measured, ${CONNECTIONS} connections, ${requests.length} distinct requests`);
  let serverRss = 0;
  let dbRss = 0;
  const sampler = setInterval(() => {
    serverRss = Math.max(serverRss, rssOf(server.process.pid!));
    if (db) dbRss = Math.max(dbRss, rssOf(db.process.pid!));
  }, 250);
  try {
    const cpu = () => ({ server: cpuSecondsOf(server.process.pid!), db: db ? cpuSecondsOf(db.process.pid!) : 0, bench: process.cpuUsage(), at: performance.now() });
    let before = cpu();
    let after = before;
    const result = await measure({
      url,
      requests,
      connections: CONNECTIONS,
      warmupSeconds,
      durationSeconds,
      onMeasure: (phase) => {
        if (phase === 'start') before = cpu();
        else after = cpu();
      },
    });
    const seconds = (after.at - before.at) / 1000;
    const benchCpu = (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1e6 / seconds;
    const serverCpu = (after.server - before.server) / seconds;
    const dbCpu = db ? (after.db - before.db) / seconds : null;
    log(
      `${label}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}${result.sampleErrors.length ? ` (${result.sampleErrors.join(' | ')})` : ''}; CPU server ${serverCpu.toFixed(2)}, db ${dbCpu?.toFixed(2) ?? '-'}, load generator ${benchCpu.toFixed(2)}`,
    );
    return { ...result, serverRss, dbRss: db ? dbRss : null, serverCpu, dbCpu, benchCpu };
  } finally {
    clearInterval(sampler);
  }
}

function row(scenario: string, m: Measured, ratios = true, floor?: number): Row {
  return { ...(floor !== undefined ? { floor } : {}), scenario, requestsPerSecond: m.requestsPerSecond, p50: m.p50, p90: m.p90, p99: m.p99, errors: m.errors, serverRssBytes: m.serverRss, dbRssBytes: m.dbRss, cpu: `${m.serverCpu.toFixed(2)} / ${m.dbCpu?.toFixed(2) ?? '-'} / ${m.benchCpu.toFixed(2)}`, ratios };
}

// ---- open loop ------------------------------------------------------------------------------

interface OpenLoopRow {
  target: string;
  result: OpenLoopResult;
}

/**
 * The open-loop sender against one server at every rate of OPEN_LOOP_RATES (2 s warm-up at each rate),
 * up to the first rate the server cannot keep up with (fewer than 90% answered per second): the higher
 * rates would only queue longer. Then waits until the server has worked off what is left.
 */
async function openLoopSeries(target: string, url: string, requests: LoadRequest[]): Promise<OpenLoopRow[]> {
  const out: OpenLoopRow[] = [];
  for (const rate of OPEN_LOOP_RATES) {
    if (out.some((o) => o.result.achievedRate < 0.9 * o.result.rate)) {
      log(`open loop, ${target}: ${rate} req/s not run (saturated at a lower rate)`);
      continue;
    }
    log(`open loop, ${target}: ${rate} req/s, 2 s warm-up + ${OPEN_LOOP_SECONDS} s measured`);
    const result = await openLoop({ url, requests, rate, warmupSeconds: 2, durationSeconds: OPEN_LOOP_SECONDS });
    log(`open loop, ${target}, ${rate} req/s: ${result.achievedRate.toFixed(0)} answers/s, p50 ${result.p50} ms, p99 ${result.p99} ms, p99.9 ${result.p999} ms, errors ${result.errors}`);
    out.push({ target, result });
  }
  await answerOnce(url, requests[0]!);
  return out;
}

// ---- growth ---------------------------------------------------------------------------------

interface GrowthRow {
  label: string;
  /** Licenses of the row's population (the requests spread over them). */
  licenses: number;
  /** BSON size of one license document of the population as seeded, read back. */
  documentBytes: number;
  m: Measured;
}

/** Sends one request and waits for its answer (up to 5 minutes). */
async function answerOnce(url: string, r: LoadRequest): Promise<void> {
  const res = await fetch(url + r.path, { method: r.method, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}), signal: AbortSignal.timeout(300_000) });
  await res.arrayBuffer();
}

/** The requests, each sent with an Idempotency-Key of its own (autocannon calls setupRequest before every send). */
function withFreshIdempotencyKeys(requests: LoadRequest[]): LoadRequest[] {
  return requests.map((r) => ({ ...r, setupRequest: (req: AutocannonRequest) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }) }));
}

/**
 * The growth rows: scenario 2's request on populations of GROWTH_LICENSES licenses that differ in one
 * way each (seats, features, applied idempotency keys), then on the plain population once the ledger
 * holds each of LEDGER_SIZES entries. On an engine of their own (with a heap limit that fits the
 * largest ledger) and a server of their own, after the other rows.
 */
async function measureGrowth(ctx: { serverEnv: Record<string, string>; port: number; url: string; dbName: string; secretsKey: string; children: Child[] }): Promise<GrowthRow[]> {
  let engine: Child | null = null;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    // The engine keeps every document in its heap: about 1.2 KB per ledger entry, 5M entries are more than V8's default heap limit.
    const started = await startEmbeddedDb([`--max-old-space-size=${GROWTH_ENGINE_HEAP_MB}`]);
    engine = started.child;
    ctx.children.push(engine);
    uri = started.uri;
  }
  const dbName = `${ctx.dbName}_growth`;
  const data = await openBenchData(uri, dbName, ctx.secretsKey);
  try {
    let t = Date.now();
    const plain = await insertLicenses(data, GROWTH_LICENSES);
    const plainKeyed = await insertLicenses(data, GROWTH_LICENSES);
    const seats = await insertLicenses(data, GROWTH_LICENSES, { ...PLAIN, seats: 10_000 });
    const features = await insertLicenses(data, GROWTH_LICENSES, { ...PLAIN, features: 200 });
    const keys = await insertLicenses(data, GROWTH_LICENSES, { ...PLAIN, appliedKeys: 1_000 });
    log(`growth: seeded 5 populations of ${GROWTH_LICENSES} licenses (plain, plain for keyed requests, 10,000 seats, 200 features, 1,000 applied keys) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const server = await startApiServer({ port: ctx.port, env: { ...ctx.serverEnv, MONGODB_URI: uri, MONGODB_DB_NAME: dbName } });
    ctx.children.push(server);
    const out: GrowthRow[] = [];
    const measureRow = async (label: string, licenses: BenchLicense[], requests: LoadRequest[], warmupSeconds = WARMUP) => {
      const documentBytes = await documentSize(data, licenses[0]!.id);
      // The requests a previous row left in the server (autocannon drops them unanswered) are worked
      // off before this row starts: one request of this row, answered, comes after all of them.
      await answerOnce(ctx.url, requests[0]!);
      const m = await run(`growth ${label}`, ctx.url, requests, server, engine, warmupSeconds, GROWTH_DURATION);
      out.push({ label, licenses: licenses.length, documentBytes, m });
    };
    await measureRow('g0. plain: 1 seat, 1 feature', plain, addFeatureConsumption(data, plain), WARMUP + SERVER_WARMUP);
    await measureRow('g2. 200 features, consuming the last', features, addFeatureConsumption(data, features));
    await measureRow('g3a. plain, a fresh Idempotency-Key per request', plainKeyed, withFreshIdempotencyKeys(addFeatureConsumption(data, plainKeyed)));
    await measureRow('g3. 1,000 keyed consumptions already applied, a fresh Idempotency-Key per request', keys, withFreshIdempotencyKeys(addFeatureConsumption(data, keys)));
    // The slowest row last of the document rows: it leaves the longest backlog.
    await measureRow('g1. 10,000 seats (active devices), consuming from the last', seats, addFeatureConsumption(data, seats));
    const { LedgerEntry } = data.db.models;
    for (const [i, size] of LEDGER_SIZES.entries()) {
      t = Date.now();
      await insertLedgerEntries(data, Math.max(0, size - (await LedgerEntry.estimatedDocumentCount())));
      const count = await LedgerEntry.estimatedDocumentCount();
      log(`growth: ledger at ${count} entries after ${((Date.now() - t) / 1000).toFixed(1)} s of bulk inserts`);
      await sleep(1_000);
      // The long warm-up as in 6b: the engine's collector is still busy with the bulk load at first.
      await measureRow(`g${4 + i}. = g0 with a ledger of ${(count / 1e6).toFixed(2)}M entries`, plain, addFeatureConsumption(data, plain), WARMUP + SERVER_WARMUP);
    }
    await server.stop();
    return out.sort((x, y) => (x.label < y.label ? -1 : 1));
  } finally {
    if (process.env.MONGODB_URI) await data.db.connection.dropDatabase().catch(() => undefined);
    await data.db.close().catch(() => undefined);
    await engine?.stop();
  }
}

function growthTable(growth: GrowthRow[]): string {
  const plain = growth[0]?.m.requestsPerSecond ?? NaN;
  const lines = [
    `| Growth row (scenario 2's request, spread over the population) | licenses | license document, bytes (BSON, read back) | req/s | p50 ms | p99 ms | non-2xx + errors | CPU cores server / db / load gen | ÷ plain (g0) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const g of growth) {
    lines.push(
      `| ${g.label} | ${g.licenses} | ${g.documentBytes.toLocaleString('en-US')} | ${g.m.requestsPerSecond.toFixed(0)} | ${g.m.p50} | ${g.m.p99} | ${g.m.errors} | ${g.m.serverCpu.toFixed(2)} / ${g.m.dbCpu?.toFixed(2) ?? '-'} / ${g.m.benchCpu.toFixed(2)} | ${(g.m.requestsPerSecond / plain).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

function openLoopTable(rows: OpenLoopRow[]): string {
  const lines = [
    `| Open loop (fixed arrival rate, latency from the scheduled send) | rate req/s | answered/s | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx, errors, unanswered |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { target, result: r } of rows) {
    lines.push(`| ${target} | ${r.rate} | ${r.achievedRate.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.p999} | ${r.max} | ${r.errors} |`);
    if (r.achievedRate < 0.9 * r.rate) for (const higher of OPEN_LOOP_RATES.filter((x) => x > r.rate)) lines.push(`| ${target} | ${higher} | not run (saturated at ${r.rate} req/s) | | | | | |`);
  }
  return lines.join('\n');
}

// ---- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  ensureBuilt();
  if (PROFILE) mkdirSync(join(root, 'bench', 'profiles'), { recursive: true });
  const children: Child[] = [];
  const stopAll = async () => {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  let data: BenchData | undefined;
  try {
    let uri = process.env.MONGODB_URI;
    let dbChild: Child | null = null;
    if (!uri) {
      const started = await startEmbeddedDb(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench', 'profiles')}`, '--cpu-prof-name=db.cpuprofile'] : []);
      dbChild = started.child;
      children.push(dbChild);
      uri = started.uri;
      log(`embedded database engine on ${uri} (its own process)`);
    } else {
      log('using MONGODB_URI');
    }
    const dbName = `bench_${randomBytes(4).toString('hex')}`;
    const secretsKey = randomBytes(32).toString('base64');
    const rows: Row[] = [];

    // Ceilings.
    const portA = await freePort();
    const ceilA = await startCeilingServer('bench/ceiling-bare.ts', portA);
    children.push(ceilA);

    data = await openBenchData(uri, dbName, secretsKey);
    await growLicenses(data, 1_000);
    log(`seeded account, product and ${data.licenses.length} licenses with a seat each`);
    const s2Licenses = data.licenses.slice(0, 1_000);

    const a = await run('ceiling (a) node:http', `http://127.0.0.1:${portA}`, addFeatureConsumption(data, s2Licenses), ceilA, null, WARMUP + SERVER_WARMUP);
    await ceilA.stop();
    rows.push(row('(a) ceiling: bare node:http, fixed JSON', a, false));

    const portB = await freePort();
    const ceilB = await startCeilingServer('bench/ceiling-express.ts', portB);
    children.push(ceilB);
    const b = await run('ceiling (b) app stack', `http://127.0.0.1:${portB}`, addFeatureConsumption(data, s2Licenses), ceilB, null, WARMUP + SERVER_WARMUP);
    rows.push(row('(b) ceiling: createApp stack + OpenAPI validation, no-op handler', b, false));
    const openLoops: OpenLoopRow[] = [];
    if (!PROFILE) openLoops.push(...(await openLoopSeries('(b) ceiling', `http://127.0.0.1:${portB}`, addFeatureConsumption(data, s2Licenses))));
    await ceilB.stop();

    // Floor (c): the same stack, HMAC check and signing with exactly one database operation.
    const portC = await freePort();
    const urlC = `http://127.0.0.1:${portC}`;
    // The floor runs under tsx, whose loader thread writes a profile of its own: one directory, default names.
    const floorProfile = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench', 'profiles', 'floor')}`] : [];
    const floor = await startCeilingServer('bench/floor.ts', portC, { MONGODB_URI: uri, MONGODB_DB_NAME: dbName, SECRETS_KEY: secretsKey, NODE_ENV: 'production' }, floorProfile);
    children.push(floor);
    const c = await run('floor (c)', urlC, addFeatureConsumption(data, s2Licenses), floor, dbChild, WARMUP + SERVER_WARMUP);
    rows.push(row('(c) floor: stack (b) + HMAC check + one guarded findOneAndUpdate + RSA signature', c, false));
    // A profile of the floor holds only consumptions, to set beside the server's under scenario 2.
    const c5 = PROFILE ? null : await run('floor of check_license', urlC, checkLicense(data, s2Licenses), floor, dbChild);
    if (c5) rows.push(row('(c5) floor of 5: stack (b) + HMAC check + one license read + RSA signatures', c5, false));
    if (!PROFILE) openLoops.push(...(await openLoopSeries('(c) floor', urlC, addFeatureConsumption(data, s2Licenses))));
    await floor.stop();

    // The API server.
    const serverEnv = {
      NODE_ENV: 'production',
      MONGODB_URI: uri,
      MONGODB_DB_NAME: dbName,
      SECRETS_KEY: secretsKey,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      // The load generator is one client on one IP: rate limits would answer 429 to nearly all of it.
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_PER_KEY: '0',
    };
    const profileDir = join(root, 'bench', 'profiles');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = await startApiServer({ port, env: serverEnv, nodeArgs: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-name=server.cpuprofile'] : [] });
    children.push(server);
    log(`API server on ${url} (its own process, NODE_ENV=production)`);

    const s2 = await run('scenario 2', url, addFeatureConsumption(data, s2Licenses), server, dbChild, WARMUP + SERVER_WARMUP);
    rows.push(row('2. add_feature_consumption, 1,000 licenses', s2, true, c.requestsPerSecond));
    if (PROFILE) {
      await server.stop();
      await dbChild?.stop();
      // What each profiled process answered over its life (warm-up included), for per-request costs.
      const answered = { floor: c.warmupOk + c.ok, server: s2.warmupOk + s2.ok };
      writeFileSync(join(profileDir, 'answered.json'), `${JSON.stringify(answered)}\n`);
      log(`CPU profiles of the server (and the embedded engine) under scenario 2 written to ${profileDir}`);
      return;
    }
    openLoops.push(...(await openLoopSeries('2. add_feature_consumption', url, addFeatureConsumption(data, s2Licenses))));

    // Scenario 3: one hot license feature, then the correctness pass.
    const hot = await addHotLicense(data);
    const s3 = await run('scenario 3', url, addFeatureConsumption(data, [hot]), server, dbChild);
    rows.push(row('3. add_feature_consumption, one hot license feature', s3));
    await sleep(200);
    const hotState = await storedState(data, hot.id);
    const hotAnswered = s3.warmupOk + s3.ok;
    const check = await addHotLicense(data);
    const pass = await fixedAmount({ url, requests: addFeatureConsumption(data, [check]), connections: CONNECTIONS }, CORRECTNESS_REQUESTS);
    const checkState = await storedState(data, check.id);
    const correct =
      pass.errors === 0 && pass.ok === CORRECTNESS_REQUESTS && checkState.total === pass.ok && checkState.ledgerEntries === pass.ok && checkState.ledgerSum === pass.ok && hotState.total === hotState.ledgerSum && hotState.ledgerEntries === hotState.total;
    log(
      `correctness: exact pass ${pass.ok} × 200 → stored total ${checkState.total}, ledger ${checkState.ledgerEntries} entries (sum ${checkState.ledgerSum}); timed hot run: ${hotAnswered} × 200 counted, stored total ${hotState.total}, ledger ${hotState.ledgerEntries} → ${correct ? 'OK' : 'MISMATCH'}`,
    );

    const s4 = await run('scenario 4', url, meterAttributes(s2Licenses), server, dbChild);
    rows.push(row('4. v3 meter-attributes increment, 1,000 activations', s4));
    const s5 = await run('scenario 5', url, checkLicense(data, s2Licenses), server, dbChild);
    rows.push(row('5. check_license, 1,000 licenses', s5, true, c5!.requestsPerSecond));

    // Scenario 6: more licenses, and a 1M-entry ledger.
    let t = Date.now();
    await growLicenses(data, 10_000);
    log(`grew to ${data.licenses.length} licenses in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const s6a = await run('scenario 6 (10k)', url, addFeatureConsumption(data, spread(data, 1_000)), server, dbChild);
    rows.push(row('6a. = 2 with 10k licenses', s6a));
    t = Date.now();
    const existingLedger = await data.db.models.LedgerEntry.estimatedDocumentCount();
    const newLicenses = 100_000 - data.licenses.length;
    await growLicenses(data, 100_000, Math.max(0, Math.ceil((1_000_000 - existingLedger) / newLicenses)));
    const ledgerCount = await data.db.models.LedgerEntry.estimatedDocumentCount();
    log(`grew to ${data.licenses.length} licenses and ${ledgerCount} ledger entries in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    await sleep(1_000); // let the engine settle after the bulk load
    // The long warm-up too: right after a bulk load of 1M documents the engine's garbage collector is
    // still marking a heap of over 2 GB, which is the load's aftermath, not the steady state measured here.
    const s6b = await run('scenario 6 (100k)', url, addFeatureConsumption(data, spread(data, 1_000)), server, dbChild, WARMUP + SERVER_WARMUP);
    rows.push(row(`6b. = 2 with 100k licenses and ${(ledgerCount / 1e6).toFixed(2)}M ledger entries`, s6b));
    await server.stop();

    // Cluster mode: scenario 2 (on the large data set) with 1 and 2 workers.
    const cluster: Measured[] = [];
    for (const workers of [1, 2]) {
      const clusterServer = await startApiServer({ port, env: { ...serverEnv, WEB_CONCURRENCY: String(workers)} });
      children.push(clusterServer);
      const m = await run(`cluster ${workers}`, url, addFeatureConsumption(data, spread(data, 1_000)), clusterServer, dbChild, WARMUP + SERVER_WARMUP);
      cluster.push(m);
      rows.push(row(`C${workers}. = 6b, cluster mode, WEB_CONCURRENCY=${workers}`, m));
      await clusterServer.stop();
    }

    // Durability: scenario 2 against an engine that journals to disk (a data directory), with the
    // default write concern (every write fsynced before it is acknowledged) and without it (w:1,
    // group commit within 50 ms: a crash loses the last writes). Same run, same data, same engine.
    const durability: Measured[] = [];
    if (!process.env.MONGODB_URI) {
      const dir = mkdtempSync(join(tmpdir(), 'bench-durable-'));
      try {
        const durableDb = await startEmbeddedDb([], dir);
        children.push(durableDb.child);
        const durableData = await openBenchData(durableDb.uri, dbName, secretsKey);
        await growLicenses(durableData, 1_000);
        const durableLicenses = durableData.licenses.slice(0, 1_000);
        // Interleaved, twice each, best of each kept: the two settings see the same machine state.
        const settings = [
          ['not durable', { DB_WRITE_CONCERN: '1', DB_WRITE_JOURNAL: 'false' }],
          ['durable', {}],
        ] as const;
        const best = new Map<string, Measured>();
        for (const round of [0, 1]) {
          for (const [label, extra] of settings) {
            const durableServer = await startApiServer({ port, env: { ...serverEnv, MONGODB_URI: durableDb.uri, ...extra } });
            children.push(durableServer);
            const m = await run(`scenario 2, journaled engine, ${label} (round ${round + 1})`, url, addFeatureConsumption(durableData, durableLicenses), durableServer, durableDb.child, WARMUP + SERVER_WARMUP);
            if ((best.get(label)?.requestsPerSecond ?? -1) < m.requestsPerSecond) best.set(label, m);
            await durableServer.stop();
          }
        }
        for (const [label] of settings) {
          const m = best.get(label)!;
          durability.push(m);
          rows.push(row(`D${durability.length}. = 2 on an engine with a data directory, ${label === 'durable' ? 'default write concern (w: majority, j: true: fsynced before the answer)' : 'DB_WRITE_CONCERN=1 DB_WRITE_JOURNAL=false (not durable)'}; best of 2 interleaved runs`, m));
        }
        await durableData.db.close();
        await durableDb.child.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    const growth = await measureGrowth({ serverEnv, port, url, dbName, secretsKey, children });

    const generated = summary(rows, a.requestsPerSecond, b.requestsPerSecond, { s2, s3, s5, s6a, s6b, c, c5: c5!, cluster, correct, pass, checkState, hotAnswered, hotState, ledgerCount, durability, openLoops, growth });
    console.log(`\n${generated}\n`);
    if (booleanSetting(process.env, 'BENCH_WRITE', true)) {
      writeBenchmarksMd(join(root, 'BENCHMARKS.md'), generated);
      log('results written to BENCHMARKS.md');
    }
    // Growth rows may time out (autocannon gives up after 10 s) where the document is large: shown, not a failure.
    if (!correct || rows.some((r) => r.errors > 0)) process.exitCode = 1;
  } finally {
    if (data) {
      if (process.env.MONGODB_URI) await data.db.connection.dropDatabase().catch(() => undefined);
      await data.db.close().catch(() => undefined);
    }
    await stopAll();
  }
}

interface Facts {
  s2: Measured;
  s3: Measured;
  s5: Measured;
  /** Floor (c), and the floor of check_license. */
  c: Measured;
  c5: Measured;
  openLoops: OpenLoopRow[];
  growth: GrowthRow[];
  s6a: Measured;
  s6b: Measured;
  cluster: Measured[];
  correct: boolean;
  pass: { ok: number; errors: number };
  checkState: { total: number; ledgerEntries: number; ledgerSum: number };
  hotAnswered: number;
  hotState: { total: number; ledgerEntries: number };
  ledgerCount: number;
  /** Scenario 2 on a journaled engine: not durable, then durable (empty with MONGODB_URI). */
  durability: Measured[];
}

const signed = (d: number) => `${d >= 0 ? '+' : ''}${(d * 100).toFixed(0)}%`;

function summary(rows: Row[], ceilingA: number, ceilingB: number, f: Facts): string {
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
  const s2b = f.s2.requestsPerSecond / ceilingB;
  const s3s2 = f.s3.requestsPerSecond / f.s2.requestsPerSecond;
  const s6 = [f.s6a, f.s6b].map((m) => m.requestsPerSecond / f.s2.requestsPerSecond - 1);
  const [c1, c2] = f.cluster;
  const scale = c1 && c2 ? c2.requestsPerSecond / c1.requestsPerSecond : NaN;
  return [
    `Run of ${new Date().toISOString()} — ${machineLine()}; load average before the run: ${loadBefore}.`,
    `Command: \`npm run bench\` (warm-up ${WARMUP} s, ${WARMUP + SERVER_WARMUP} s for the first run on a fresh server and after the bulk load of 6b; measured ${DURATION} s, ${CONNECTIONS} connections, pipelining 1; database: ${process.env.MONGODB_URI ? 'MONGODB_URI' : 'embedded engine, its own process, in memory'}; server: \`node dist/server/main.js\`, NODE_ENV=production, LOG_LEVEL=${process.env.BENCH_LOG_LEVEL ?? 'warn'}). Total run time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    '',
    table(rows, ceilingA, ceilingB),
    '',
    '| Target | Result | |',
    '| --- | --- | --- |',
    `| Scenario 2 ≥ 50% of ceiling (b) | ${(s2b * 100).toFixed(0)}% | ${verdict(s2b >= 0.5)} |`,
    `| Scenario 2 p99 < 20 ms | ${f.s2.p99} ms | ${verdict(f.s2.p99 < 20)} |`,
    `| Scenario 3 ≥ 70% of scenario 2 | ${(s3s2 * 100).toFixed(0)}% | ${verdict(s3s2 >= 0.7)} |`,
    `| Scenario 6 within 10% of scenario 2 (req/s) | 10k: ${signed(s6[0]!)}, 100k + ${(f.ledgerCount / 1e6).toFixed(2)}M ledger: ${signed(s6[1]!)} | ${verdict(s6.every((d) => d >= -0.1))} |`,
    `| Scenario 6 p99 flat | 2: ${f.s2.p99} ms, 6a: ${f.s6a.p99} ms, 6b: ${f.s6b.p99} ms | |`,
    `| Zero non-2xx | ${rows.reduce((n, r) => n + r.errors, 0)} | ${verdict(rows.every((r) => r.errors === 0))} |`,
    `| Exact totals (correctness pass: ${CORRECTNESS_REQUESTS} requests on one hot feature) | ${f.pass.ok} × 200, stored total ${f.checkState.total}, ledger ${f.checkState.ledgerEntries} entries summing to ${f.checkState.ledgerSum}; timed hot run: stored total ${f.hotState.total} = ledger ${f.hotState.ledgerEntries} entries, ${f.hotAnswered} answers counted (autocannon drops the responses in flight when a timed run ends) | ${verdict(f.correct)} |`,
    `| Cluster: 2 workers vs 1 | ×${scale.toFixed(2)} | ${scale > 1.05 ? 'grows' : '**does not grow here**'} |`,
    ...(f.durability.length === 2
      ? [`| Durable writes ≥ 90% of non-durable (D2 vs D1) | ${((f.durability[1]!.requestsPerSecond / f.durability[0]!.requestsPerSecond) * 100).toFixed(0)}% (p99 ${f.durability[1]!.p99} ms vs ${f.durability[0]!.p99} ms) | ${verdict(f.durability[1]!.requestsPerSecond >= 0.9 * f.durability[0]!.requestsPerSecond)} |`]
      : []),
    '',
    openLoopTable(f.openLoops),
    '',
    growthTable(f.growth),
    '',
    targetsOf17(f),
  ].join('\n');
}

/** The targets of issue #17, each with the number measured in this run. */
function targetsOf17(f: Facts): string {
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
  const s2c = f.s2.requestsPerSecond / f.c.requestsPerSecond;
  const s5c5 = f.s5.requestsPerSecond / f.c5.requestsPerSecond;
  const plain = f.growth[0]?.m.requestsPerSecond ?? NaN;
  const growthRows = f.growth.filter((g) => !/^g0\.|^g3a\./.test(g.label));
  const keyedPlain = f.growth.find((g) => g.label.startsWith('g3a.'));
  const growthText = growthRows
    .map((g) => {
      const tag = g.label.slice(0, g.label.indexOf('.'));
      const vsKeyed = tag === 'g3' && keyedPlain ? ` (÷ g3a, keyed on plain licenses: ${signed(g.m.requestsPerSecond / keyedPlain.m.requestsPerSecond - 1)})` : '';
      return `${tag}: ${signed(g.m.requestsPerSecond / plain - 1)}${vsKeyed}`;
    })
    .join(', ');
  const at400 = f.openLoops.find((o) => o.target.startsWith('2.') && o.result.rate === 400)?.result;
  const saturated = f.openLoops.find((o) => o.target.startsWith('2.') && o.result.rate < 400 && o.result.achievedRate < 0.9 * o.result.rate);
  const [notDurable, durable] = f.durability;
  const durableCost = notDurable && durable ? 1 - durable.requestsPerSecond / notDurable.requestsPerSecond : NaN;
  return [
    '| Target of #17 | Measured | |',
    '| --- | --- | --- |',
    `| Scenario 2 ≥ 80% of floor (c) | ${(s2c * 100).toFixed(0)}% (${f.s2.requestsPerSecond.toFixed(0)} of ${f.c.requestsPerSecond.toFixed(0)} req/s) | ${verdict(s2c >= 0.8)} |`,
    `| check_license (5) ÷ its own floor (c5) (reported, no target) | ${(s5c5 * 100).toFixed(0)}% (${f.s5.requestsPerSecond.toFixed(0)} of ${f.c5.requestsPerSecond.toFixed(0)} req/s) | |`,
    `| Every growth row within 10% of plain (g0, req/s) | ${growthText || 'not measured'} | ${growthRows.length ? verdict(growthRows.every((g) => g.m.requestsPerSecond >= 0.9 * plain)) : '-'} |`,
    `| Scenario 2 p99 < 10 ms at 400 req/s (open loop) | ${at400 ? `${at400.p99} ms (p50 ${at400.p50} ms, p99.9 ${at400.p999} ms)` : saturated ? `not run: saturated at ${saturated.result.rate} req/s (p99 ${saturated.result.p99} ms)` : 'not measured'} | ${at400 ? verdict(at400.p99 < 10 && at400.errors === 0) : saturated ? verdict(false) : '-'} |`,
    `| Durable writes cost ≤ 10% (D2 vs D1, req/s) | ${Number.isNaN(durableCost) ? 'not measured (MONGODB_URI)' : `${(durableCost * 100).toFixed(0)}% (${durable!.requestsPerSecond.toFixed(0)} vs ${notDurable!.requestsPerSecond.toFixed(0)} req/s)`} | ${Number.isNaN(durableCost) ? '-' : verdict(durableCost <= 0.1)} |`,
  ].join('\n');
}

const loadBefore = (await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(', ');

/** Scenarios with a BENCHMARKS.md section of their own: `npm run bench -- <name>` runs one alone; `npm run bench` runs them after the main run. */
const SCENARIOS: Record<string, { title: string; run: () => Promise<string>; aloneOnly?: boolean }> = {
  usage: { title: 'Usage reports and ledger exports', run: usageBench },
  /** Loads 1M+ ledger entries twice (tens of minutes): only when asked for by name. */
  'engine-memory': { title: 'Embedded engine: memory and start-up (generated)', run: async () => (await import('./engine-memory.js')).runEngineMemory(), aloneOnly: true },
};

async function runScenario(name: string): Promise<void> {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario ${name} (known: ${Object.keys(SCENARIOS).join(', ')})`);
  log(`scenario ${name}`);
  const generated = await scenario.run();
  console.log(generated);
  if (booleanSetting(process.env, 'BENCH_WRITE', true)) writeBenchmarksMd(join(root, 'BENCHMARKS.md'), `### ${scenario.title}\n\n${generated}`, name);
}

const only = process.argv[2];
(only ? runScenario(only) : main().then(async () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) if (!scenario.aloneOnly) await runScenario(name);
})).catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
