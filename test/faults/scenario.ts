/**
 * Fault injection: exactly-once counting under crashes ("Exactly-once counting under crashes").
 * The scenario of exactly-once.test.ts.
 *
 * The promise: every consumption answered 200 is counted exactly once, forever; nothing answered
 * with an error is counted; no limit is ever passed; a request retried with the same
 * Idempotency-Key counts once and, if the first attempt was applied, the retry answers 200 with the
 * original body (`Idempotent-Replayed: true`), never a refusal.
 *
 * Per deployment (engine in-process as `npm start` runs it; engine as its own process with
 * MONGODB_URI), three counter workloads run at once against one license, each at its limit with more
 * keys than the limit, every request with its own Idempotency-Key and amount 1:
 *   v4-feature  add_feature_consumption on feature `api-calls` (max LIMIT, no overages)
 *   v4-license  add_consumption on the consumption license (max_consumptions LIMIT)
 *   v3-meter    POST /v3/activations/meter-attributes/meter on the activation (limit LIMIT)
 * and, alongside, two seat workloads, each on a license of its own with max activations SEAT_LIMIT
 * and more machines than seats (offered in step with the counter workloads, so the same kills cut
 * seat changes off between their writes):
 *   v4-seat     activate_license of distinct hardware ids, some deactivated again (deactivate_license)
 *   v3-seat     POST /v3/activations of distinct fingerprints, some deleted again (DELETE /v3/activations/{id})
 * A machine is its own key: a repeated activation of a machine holding a seat answers 200 and counts
 * nothing, so a retry is the same request again. Every other activation a crash cut off is abandoned
 * by its client (never retried): what it left between its writes only the repair job finishes.
 * Mid-load, parts are SIGKILLed and restarted (same data dir; the engine on the same port). Keys
 * whose answer did not arrive or was a 5xx are retried with the same key and body until they get a
 * definitive 2xx/4xx. Between the last crash and the retries of the keys it cut off, other traffic
 * on the same license (BULK requests on feature `bulk`, each with its own key) runs, as it would on a
 * busy license: in-process with the load paused (the retries then find room under the limit), in
 * the separate deployment alongside the keys not sent yet (the limit is full when the retries come).
 * Then every key answered 200 is sent once more (each must replay its first 200; an activation whose
 * machine was not deactivated must answer 200 again), the license's outbox and the seat changes are
 * waited for (the repair job finishes what abandoned activations left), and the database is read
 * directly with the `mongodb` driver.
 *
 * One `it` per workload (a scenario = deployment × workload) with one soft assertion per invariant;
 * a failure prints the keys concerned with every attempt's answer, and the full record is written
 * to a JSON file in the temp dir. With MONGODB_URI set, the `separate` deployment uses that database
 * and kills only the server (an engine kill is impossible there).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, readDatabase, readIdempotency, writeReport, type DbState, type ScenarioResult } from './analysis.js';
import { Deployment, type DeploymentMode, type KillTarget } from './deployment.js';
import { bulkTraffic, Load, workloads, type SeatPlan, type Workload, type WorkloadName } from './load.js';

const LIMIT = 150;
const KEYS_PER_WORKLOAD = 225; // 1.5 × the limit
const CONCURRENCY = 8; // per workload: 24 requests in flight
const BULK = 300; // other keyed traffic on the license between a crash and the retries it cut off (no key is kept in the license: nothing is pushed out by its count)
const SEAT_LIMIT = 24;
/** Per seat workload: 40 machines for 24 seats, every third of the first 18 answered 200 deactivated again (up to 6). */
const SEAT_PLAN: SeatPlan = { keys: 40, concurrency: 2, releaseEvery: 3, releaseBelow: 18, maxAbandoned: 4 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface KillStep {
  target: KillTarget;
  /** Kill once this fraction of all keys has a definitive answer. */
  at: number;
  /** Run BULK other requests on the license after the restart, before the retries of the keys this crash cut off. */
  bulk?: 'pause' | 'alongside';
}

function killPlan(deployment: Deployment): KillStep[] {
  if (deployment.mode === 'in-process') {
    return [
      { target: 'server', at: 0.25 },
      { target: 'server', at: 0.55, bulk: 'pause' },
    ];
  }
  if (!deployment.canKillEngine) {
    return [
      { target: 'server', at: 0.25 },
      { target: 'server', at: 0.64, bulk: 'alongside' },
    ];
  }
  return [
    { target: 'server', at: 0.2 },
    { target: 'engine', at: 0.42 },
    { target: 'both', at: 0.64, bulk: 'alongside' },
  ];
}

/** Every wait of a run ends by this much after the run started (the hook's own timeout is longer). */
const RUN_BUDGET_MS = 85_000;
/** The wait for seat changes to settle lasts at least SEAT_SETTLE_MIN_MS and ends at most SEAT_SETTLE_SLACK_MS after the run's budget (the hook allows 25 s more). */
const SEAT_SETTLE_MIN_MS = 2_000;
const SEAT_SETTLE_SLACK_MS = 12_000;

async function until(check: () => boolean, timeoutMs: number, runDeadline: number): Promise<boolean> {
  const deadline = Math.min(Date.now() + timeoutMs, runDeadline);
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

function countValues(map: Map<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of map.values()) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

export interface Run {
  deployment: Deployment;
  workloads: Workload[];
  load: Load;
  db: DbState;
  kills: number;
  plannedKills: number;
  log: string[];
  results: Map<string, ScenarioResult>;
  reportFile: string;
}

export async function runDeployment(deployment: Deployment): Promise<Run> {
  const mode = deployment.mode;
  const log: string[] = [];
  const started = Date.now();
  const runDeadline = started + RUN_BUDGET_MS;
  const seed = await deployment.start({ limit: LIMIT, bulk: 1_000_000, seats: SEAT_LIMIT });
  const ws = workloads(seed, LIMIT, { limit: SEAT_LIMIT, plan: SEAT_PLAN });
  const load = new Load(ws, () => deployment.url, { keysPerWorkload: KEYS_PER_WORKLOAD, concurrency: CONCURRENCY, maxAttempts: 40, retryDelayMs: 100 }, deployment.t0);
  const at = () => `t=${Date.now() - deployment.t0} ms`;
  load.start(RUN_BUDGET_MS - 10_000);
  let kills = 0;
  const plan = killPlan(deployment);
  for (const [i, step] of plan.entries()) {
    const reached = await until(() => load.settledFraction() >= step.at, 30_000, runDeadline);
    if (!reached || load.done()) {
      log.push(`kill ${i + 1} (${step.target}) skipped: settled ${load.settledFraction().toFixed(2)}`);
      continue;
    }
    const inflight = [...load.keys.values()].filter((r) => r.inflight);
    const perWorkload = ws.map((w) => `${w.name} ${inflight.filter((r) => r.workload === w.name).length}`).join(', ');
    await deployment.kill(step.target, () => load.pause());
    kills += 1;
    log.push(`${at()} kill ${i + 1}: SIGKILL ${step.target} at settled ${load.settledFraction().toFixed(2)} with ${inflight.length} requests in flight (${perWorkload}); back`);
    load.phase = `after-kill-${i + 1}`;
    if (step.bulk) {
      // The retries of the keys cut off by this crash wait until the other traffic is done. With
      // 'alongside', keys never sent yet go on meanwhile (the limit fills up before the retries come);
      // with 'pause', everything waits (the retries find room left under the limit).
      if (step.bulk === 'alongside') {
        load.holdRetries = true;
        load.resume();
      }
      const bulkStarted = Date.now();
      const bulk = await bulkTraffic(seed, deployment.url, BULK);
      log.push(`${at()} bulk traffic (${step.bulk}) after kill ${i + 1}: ${bulk.ok} of ${BULK} answered 200 ${JSON.stringify(bulk.other)} in ${Date.now() - bulkStarted} ms; settled ${load.settledFraction().toFixed(2)}; retries resume`);
      load.holdRetries = false;
    }
    load.resume();
  }
  load.phase = 'drain';
  log.push(`${at()} drain: settled ${load.settledFraction().toFixed(2)}`);
  await until(() => load.done(), 45_000, runDeadline);
  load.stop();
  await load.finished();
  const counterNames = new Set(ws.filter((w) => w.kind === 'counter').map((w) => w.name));
  const okKeys = [...load.keys.values()].filter((r) => counterNames.has(r.workload) && r.attempts.some((a) => a.cls === 'ok')).map((r) => r.key);
  const idempotency = await readIdempotency(deployment, seed.accountId, okKeys);
  log.push(`${at()} replay of every key answered 200 (idempotency records before: ${JSON.stringify(countValues(idempotency))})`);
  await load.replayAll(24);
  log.push(`${at()} reading the database`);
  const seatLicenses = [
    { workload: 'v4-seat' as const, licenseId: seed.seatLicenses.v4.licenseId },
    { workload: 'v3-seat' as const, licenseId: seed.seatLicenses.v3.licenseId },
  ];
  // Long enough for the repair job to finish a change cut off just before (its deadline, margin and
  // interval), within the hook's time left after the run's budget.
  const db = await readDatabase(deployment, seed.licenseId, seatLicenses, 10_000, Math.max(SEAT_SETTLE_MIN_MS, Math.min(15_000, runDeadline + SEAT_SETTLE_SLACK_MS - Date.now())));
  const seatsSettled = [...db.seats.values()].every((s) => s.seatEntries === 0 && s.seatChanges === 0);
  log.push(`${at()} outbox ${db.outboxLedgerEntries === 0 ? 'drained' : 'NOT drained'} after ${db.drainMs} ms; seat changes ${seatsSettled ? 'settled' : 'NOT settled'} after ${db.seatsSettledMs} ms`);
  const scenario = `${mode}`;
  const results = new Map(ws.map((w) => [w.name, analyse(scenario, w, load, db, seed, kills, idempotency)]));
  log.push(`${mode}: ${((Date.now() - started) / 1000).toFixed(1)} s, events: ${deployment.events.join(' | ')}`);
  const reportFile = writeReport(mode, {
    mode,
    log,
    events: deployment.events,
    results: [...results.values()].map((r) => ({ ...r, diagnosis: undefined })),
    keys: [...load.keys.values()].map((r) => ({ ...r, idempotencyBeforeReplay: idempotency.get(r.key) })),
    ledger: db.ledger,
    license: { consumption: db.license.consumption, features: db.license.features, outbox: db.license.outbox },
    seats: Object.fromEntries(db.seats),
  });
  return { deployment, workloads: ws, load, db, kills, plannedKills: plan.length, log, results, reportFile };
}

export const MODES: readonly DeploymentMode[] = ['in-process', 'separate'];

const WORKLOADS: readonly WorkloadName[] = ['v4-feature', 'v4-license', 'v3-meter', 'v4-seat', 'v3-seat'];
const COUNTER_TITLE = 'every 200 counted exactly once, nothing else counted, the limit held, replays answer the original';
const SEAT_TITLE = 'seats counted exactly (timesActivated = active devices <= limit), nothing left mid-change, every 200 holds its seat unless deactivated, nothing refused holds one';
const TITLES: Record<WorkloadName, string> = {
  'v4-feature': `v4-feature: ${COUNTER_TITLE}`,
  'v4-license': `v4-license: ${COUNTER_TITLE}`,
  'v3-meter': `v3-meter: ${COUNTER_TITLE}`,
  'v4-seat': `v4-seat: ${SEAT_TITLE}`,
  'v3-seat': `v3-seat: ${SEAT_TITLE}`,
};

function title(mode: DeploymentMode): string {
  if (mode === 'in-process') return 'engine in the server process, DATA_DIR (as `npm start` runs)';
  return process.env.MONGODB_URI ? 'server on MONGODB_URI (the real MongoDB of the test process; server kills only)' : 'engine as its own process, server on MONGODB_URI';
}

/**
 * Both deployments run at the same time (independent processes, ports and data: their waits
 * overlap, which keeps the whole suite well under two minutes on two cores); one describe per
 * deployment, one test per workload, one soft assertion per invariant.
 */
export function describeExactlyOnce(): void {
  const deployments = new Map(MODES.map((mode) => [mode, new Deployment(mode)]));
  const runs = new Map<DeploymentMode, { run?: Run; failure?: unknown }>();

  beforeAll(async () => {
    await Promise.all(
      [...deployments].map(async ([mode, deployment]) => {
        try {
          const run = await runDeployment(deployment);
          runs.set(mode, { run });
          for (const line of run.log) console.log(`[faults] ${mode} ${line}`);
          for (const r of run.results.values()) console.log(r.summary);
          console.log(`[faults] ${mode}: full record in ${run.reportFile}`);
        } catch (failure) {
          runs.set(mode, { failure });
        }
      }),
    );
  }, RUN_BUDGET_MS + 25_000);

  afterAll(async () => {
    await Promise.all([...deployments.values()].map((d) => d.close()));
  });

  for (const mode of MODES) {
    describe(`faults: exactly-once counting under SIGKILL (${title(mode)})`, () => {
      for (const workload of WORKLOADS) {
        it(TITLES[workload], () => {
          const { run, failure } = runs.get(mode) ?? { failure: new Error('the run did not finish') };
          if (failure || !run) throw failure;
          const result = run.results.get(workload)!;
          if (result.violations.length > 0) console.log(`${result.summary}\n${result.diagnosis}\n(full record: ${run.reportFile})`);
          expect.soft(run.kills, `${mode}: every planned kill happened mid-load (harness)`).toBe(run.plannedKills);
          for (const c of result.checks) expect.soft(c.held, `${mode} ${workload}: ${c.invariant}: ${c.detail}`).toBe(true);
        });
      }
    });
  }
}
