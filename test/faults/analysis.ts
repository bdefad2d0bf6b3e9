/**
 * What the database holds after a run (read directly with the `mongodb` driver, never through the
 * server) and the exactly-once invariants checked against what the clients received.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Deployment } from './deployment.js';
import { seatFingerprint, type Attempt, type KeyRecord, type Load, type Workload, type WorkloadName } from './load.js';

/**
 * Response fields left out when a replay's body is compared with the key's first 200. None: the v4
 * consumption bodies (`id, code, name, max_consumptions, total_consumptions, allow_*, max_overages,
 * reset_consumption, consumption_period`; server/http/v4/mappers.ts) and the v3 increment body (`name,
 * uses, licenseAllowedUses, licenseTotalUses, licenseGrossUses`; server/http/v3/mappers.ts) hold
 * no timestamp, request id or nonce: a replay of the original response is byte-identical. The v4
 * `LicenseSignature` header (RSA PKCS#1 v1.5 over the body bytes, deterministic) is checked for
 * validity on every 2xx, not compared.
 */
export const EXCLUDED_BODY_FIELDS: readonly string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LedgerDoc {
  _id: string;
  licenseId: number;
  scope: string;
  featureCode: string | null;
  amount: number;
  idempotencyKey: string | null;
  totalAfter: number | null;
}

interface MeterDoc {
  code?: string;
  total: number;
  gross: number;
  uses?: Record<string, number>;
}

interface LicenseDoc {
  _id: number;
  consumption: MeterDoc;
  features: MeterDoc[];
  outbox?: Array<{ kind: string; ledger?: LedgerDoc }>;
}

interface SeatLicenseDoc {
  _id: number;
  timesActivated?: number;
  maxActivations: number;
  seatEpoch?: number;
  outbox?: Array<{ kind: string; id: string; deviceId?: number; op?: string; at?: Date }>;
}

export interface DeviceDoc {
  _id: number;
  licenseId: number;
  hardwareId: string;
  activationId: string;
  active: boolean;
  seatChange?: { id: string; op: string; deadline: Date } | null;
}

/** A seat workload's license and its devices, as stored. */
export interface SeatDbState {
  license: SeatLicenseDoc;
  devices: DeviceDoc[];
  /** `seat` entries in the license's outbox and devices with a `seatChange` when the wait ended (both 0 when settled). */
  seatEntries: number;
  seatChanges: number;
}

export interface DbState {
  license: LicenseDoc;
  ledger: LedgerDoc[];
  /** Ledger entries still in the license's outbox when the wait ended (0 when drained). */
  outboxLedgerEntries: number;
  drainMs: number;
  /** Per seat workload. */
  seats: Map<WorkloadName, SeatDbState>;
  /** How long until no seat change was left in flight (or the wait ended). */
  seatsSettledMs: number;
}

/**
 * Waits (≤ `timeoutMs`, polling) until the license's outbox holds no ledger entry, then reads it and its
 * ledger; and (≤ `seatTimeoutMs`, long enough for the repair job to finish a seat change whose
 * deadline has passed) until no seat license holds a `seat` outbox entry and none of their devices a
 * `seatChange`, then reads those licenses and devices.
 */
export async function readDatabase(
  deployment: Deployment,
  licenseId: number,
  seatLicenses: ReadonlyArray<{ workload: WorkloadName; licenseId: number }> = [],
  timeoutMs = 10_000,
  seatTimeoutMs = 15_000,
): Promise<DbState> {
  const { client, dbName } = await deployment.client();
  try {
    const db = client.db(dbName);
    const started = Date.now();
    let license: LicenseDoc | null;
    for (;;) {
      license = await db.collection<LicenseDoc>('licenses').findOne({ _id: licenseId });
      if (!license) throw new Error(`license ${licenseId} not found in ${dbName}`);
      const pending = (license.outbox ?? []).filter((e) => e.kind === 'ledger').length;
      if (pending === 0 || Date.now() - started > timeoutMs) break;
      await sleep(100);
    }
    const drainMs = Date.now() - started;
    const ledger = await db.collection<LedgerDoc>('ledger').find({ licenseId }).toArray();
    const seats = new Map<WorkloadName, SeatDbState>();
    for (;;) {
      for (const s of seatLicenses) {
        const seatLicense = await db.collection<SeatLicenseDoc>('licenses').findOne({ _id: s.licenseId });
        if (!seatLicense) throw new Error(`license ${s.licenseId} not found in ${dbName}`);
        const devices = await db.collection<DeviceDoc>('devices').find({ licenseId: s.licenseId }).toArray();
        const seatEntries = (seatLicense.outbox ?? []).filter((e) => e.kind === 'seat').length;
        seats.set(s.workload, { license: seatLicense, devices, seatEntries, seatChanges: devices.filter((d) => d.seatChange).length });
      }
      const settled = [...seats.values()].every((s) => s.seatEntries === 0 && s.seatChanges === 0);
      if (settled || Date.now() - started > seatTimeoutMs) break;
      await sleep(200);
    }
    return { license, ledger, outboxLedgerEntries: (license.outbox ?? []).filter((e) => e.kind === 'ledger').length, drainMs, seats, seatsSettledMs: Date.now() - started };
  } finally {
    await client.close();
  }
}

/** The idempotency record of each key as stored (read before the replay pass: a refused replay releases it). */
export type IdempotencySnapshot = Map<string, 'completed' | 'pending' | 'missing'>;

export async function readIdempotency(deployment: Deployment, accountId: number, keys: string[]): Promise<IdempotencySnapshot> {
  const { client, dbName } = await deployment.client();
  try {
    const docs = await client
      .db(dbName)
      .collection<{ _id: string; completedAt: Date | null; status: number | null }>('idempotency')
      .find({ _id: { $in: keys.map((k) => `${accountId}:${k}`) } })
      .toArray();
    const byId = new Map(docs.map((d) => [d._id, d]));
    return new Map(keys.map((k) => {
      const doc = byId.get(`${accountId}:${k}`);
      return [k, !doc ? 'missing' : doc.completedAt ? 'completed' : 'pending'];
    }));
  } finally {
    await client.close();
  }
}

export interface Violation {
  invariant: string;
  detail: string;
  keys: string[];
}

export interface ScenarioResult {
  scenario: string;
  workload: WorkloadName;
  numbers: Record<string, number>;
  violations: Violation[];
  /** The invariants checked, each with whether it held. */
  checks: Array<{ invariant: string; held: boolean; detail: string }>;
  summary: string;
  diagnosis: string;
}

function strip(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body) || EXCLUDED_BODY_FIELDS.length === 0) return body;
  const copy = { ...(body as Record<string, unknown>) };
  for (const f of EXCLUDED_BODY_FIELDS) delete copy[f];
  return copy;
}

function describeAttempt(a: Attempt): string {
  const what = a.status === 0 ? (a.error ?? 'no answer') : `${a.status}${a.code ? ` ${a.code}` : ''}${a.replayed ? ' replayed' : ''}`;
  const body = a.cls === 'ok' ? ` ${JSON.stringify(a.body)}` : '';
  return `#${a.n} [${a.phase}] t=${a.t} ms ${what}${body} (${a.ms} ms)`;
}

export function describeKey(rec: KeyRecord, ledgerEntries: LedgerDoc[] = [], context: { idempotency?: string | undefined } = {}): string {
  const ledger = ledgerEntries.map((e) => `ledger ${e._id} amount ${e.amount} totalAfter ${e.totalAfter}`).join('; ');
  const extra = context.idempotency ? ` idempotency-record-before-replay=${context.idempotency}` : '';
  return `  ${rec.key} final=${rec.final ?? 'none'}${extra} ledger=${ledgerEntries.length}${ledger ? ` (${ledger})` : ''}\n${rec.attempts.map((a) => `      ${describeAttempt(a)}`).join('\n')}`;
}

/** The invariants checked and the violations found, and `check` to record one. */
function checker() {
  const checks: ScenarioResult['checks'] = [];
  const violations: Violation[] = [];
  const check = (invariant: string, held: boolean, detail: string, keys: string[] = []) => {
    checks.push({ invariant, held, detail });
    if (!held) violations.push({ invariant, detail, keys });
  };
  return { checks, violations, check };
}

/** Checks every exactly-once invariant of one workload of one run. */
export function analyse(scenario: string, w: Workload, load: Load, db: DbState, seed: { activationDeviceId: number }, kills: number, idempotency: IdempotencySnapshot = new Map()): ScenarioResult {
  if (w.kind === 'seat') return analyseSeats(scenario, w, load, db, kills);
  const records = load.recordsOf(w.name);
  const byKey = new Map(records.map((r) => [r.key, r]));
  const scope = w.name === 'v4-license' ? { scope: 'license', featureCode: null } : { scope: 'feature', featureCode: w.name === 'v4-feature' ? 'api-calls' : 'meter' };
  const meter = scope.scope === 'license' ? db.license.consumption : db.license.features.find((f) => f.code === scope.featureCode)!;
  const entries = db.ledger.filter((e) => e.scope === scope.scope && (e.featureCode ?? null) === scope.featureCode);
  const entriesByKey = new Map<string, LedgerDoc[]>();
  for (const e of entries) {
    if (e.idempotencyKey === null || e.idempotencyKey === undefined) continue;
    entriesByKey.set(e.idempotencyKey, [...(entriesByKey.get(e.idempotencyKey) ?? []), e]);
  }

  const ok = records.filter((r) => r.attempts.some((a) => a.cls === 'ok'));
  const okKeys = new Set(ok.map((r) => r.key));
  const refused = records.filter((r) => r.final === 'refused');
  const refusedAt = (r: KeyRecord) => r.attempts.find((a) => a.cls === 'refused')!;
  const limitRefusals = refused.filter((r) => w.limitCodes.includes(refusedAt(r).code ?? ''));
  const otherRefusals = refused.filter((r) => !w.limitCodes.includes(refusedAt(r).code ?? ''));
  const undetermined = records.filter((r) => r.final !== 'ok' && r.final !== 'refused');
  const loadAttempts = records.flatMap((r) => r.attempts.filter((a) => a.phase !== 'replay'));
  const retries = records.reduce((n, r) => n + Math.max(0, r.attempts.filter((a) => a.phase !== 'replay').length - 1), 0);
  const unknownAttempts = loadAttempts.filter((a) => a.cls === 'unknown').length;
  const busyAttempts = loadAttempts.filter((a) => a.cls === 'busy').length;
  const replayAttempts = records.reduce((n, r) => n + r.attempts.filter((a) => a.phase === 'replay').length, 0);
  const stored = meter.total;
  const ledgerSum = entries.reduce((s, e) => s + e.amount, 0);
  const unkeyed = entries.filter((e) => e.idempotencyKey === null || e.idempotencyKey === undefined);
  const doubled = [...entriesByKey].filter(([, es]) => es.length > 1).map(([k]) => k);
  const lost = ok.filter((r) => !entriesByKey.has(r.key)).map((r) => r.key);
  const countedNot200 = [...entriesByKey.keys()].filter((k) => !okKeys.has(k));
  const foreign = countedNot200.filter((k) => !byKey.has(k));
  // Any 4xx refusal, on any attempt (the replays included), of a key the ledger shows as counted.
  const countedRefused = records.filter((r) => entriesByKey.has(r.key) && r.attempts.some((a) => a.cls === 'refused')).map((r) => r.key);
  // A key answered 200 must answer 200, with the same body and Idempotent-Replayed: true, on every later attempt.
  const laterNon200: string[] = [];
  const bodyChanged: string[] = [];
  const notMarkedReplayed: string[] = [];
  for (const r of ok) {
    const first = r.attempts.findIndex((a) => a.cls === 'ok');
    const original = strip(r.attempts[first]!.body);
    for (const a of r.attempts.slice(first + 1)) {
      if (a.cls === 'unknown' || a.cls === 'busy') continue; // no definitive answer: says nothing
      if (a.cls !== 'ok') {
        if (!laterNon200.includes(r.key)) laterNon200.push(r.key);
        continue;
      }
      if (!isDeepStrictEqual(strip(a.body), original) && !bodyChanged.includes(r.key)) bodyChanged.push(r.key);
      if (!a.replayed && !notMarkedReplayed.includes(r.key)) notMarkedReplayed.push(r.key);
    }
  }
  // Every change adds 1 and nothing resets or decrements: each recorded resulting total appears once.
  // Two ledger entries with the same totalAfter mean the stored counter went back (a write lost).
  const totalsSeen = new Map<number, LedgerDoc[]>();
  for (const e of entries) if (typeof e.totalAfter === 'number') totalsSeen.set(e.totalAfter, [...(totalsSeen.get(e.totalAfter) ?? []), e]);
  const repeatedTotals = [...totalsSeen].filter(([, es]) => es.length > 1);
  const badSignature = w.verify ? records.filter((r) => r.attempts.some((a) => a.cls === 'ok' && a.signatureOk === false)).map((r) => r.key) : [];
  const bodyTotals = records.flatMap((r) => r.attempts.filter((a) => a.cls === 'ok').map((a) => a.body as Record<string, number>));
  const maxAnsweredTotal = Math.max(0, ...bodyTotals.map((b) => (w.name === 'v3-meter' ? b.licenseTotalUses : b.total_consumptions) ?? 0));
  const activationUses = w.name === 'v3-meter' ? (meter.uses?.[String(seed.activationDeviceId)] ?? 0) : undefined;

  const { checks, violations, check } = checker();
  check('outbox drained (no ledger entry left in the license outbox)', db.outboxLedgerEntries === 0, `${db.outboxLedgerEntries} ledger entries still in the outbox after ${db.drainMs} ms`);
  check('every key got a definitive answer (harness bound)', undetermined.length === 0, `${undetermined.length} keys undetermined after the retries`, undetermined.map((r) => r.key));
  check('stored total = distinct keys answered 200', stored === ok.length, `stored ${stored}, distinct 200s ${ok.length} (difference ${stored - ok.length})`);
  if (activationUses !== undefined) check("the activation's stored uses = distinct keys answered 200", activationUses === ok.length, `uses ${activationUses}, distinct 200s ${ok.length}`);
  check('ledger entries = distinct keys answered 200', entries.length === ok.length, `ledger ${entries.length}, distinct 200s ${ok.length} (difference ${entries.length - ok.length})`);
  check('sum of ledger amounts = distinct keys answered 200', ledgerSum === ok.length, `ledger sum ${ledgerSum}, distinct 200s ${ok.length}`);
  check('every ledger entry carries its Idempotency-Key', unkeyed.length === 0, `${unkeyed.length} of ${entries.length} ledger entries have no idempotencyKey`);
  check('no idempotency key has two ledger entries', doubled.length === 0, `${doubled.length} keys with more than one ledger entry`, doubled);
  check('every key answered 200 has its ledger entry (no lost unit)', unkeyed.length > 0 || lost.length === 0, `${lost.length} keys answered 200 without a ledger entry`, lost);
  check('every key with a ledger entry was answered 200', countedNot200.length === 0, `${countedNot200.length} keys counted but never answered 200 (${foreign.length} not sent by this workload)`, countedNot200);
  check('no counted key was ever refused', countedRefused.length === 0, `${countedRefused.length} keys with a ledger entry got a 4xx refusal on some attempt`, countedRefused);
  check('distinct keys answered 200 <= limit, stored <= limit, every answered total <= limit', ok.length <= w.limit && stored <= w.limit && maxAnsweredTotal <= w.limit, `200s ${ok.length}, stored ${stored}, max answered total ${maxAnsweredTotal}, limit ${w.limit}`);
  if (otherRefusals.length === 0) check('distinct keys answered 200 = limit (more keys offered than the limit)', ok.length === w.limit, `200s ${ok.length}, limit ${w.limit}`);
  else check('distinct keys answered 200 + non-limit refusals >= limit', ok.length + otherRefusals.length >= w.limit, `200s ${ok.length}, non-limit refusals ${otherRefusals.length} (${[...new Set(otherRefusals.map((r) => refusedAt(r).code))].join(', ')}), limit ${w.limit}`);
  check(
    'no two ledger entries record the same resulting total (the counter never went back)',
    repeatedTotals.length === 0,
    `${repeatedTotals.length} totals recorded twice: ${repeatedTotals.map(([t]) => t).slice(0, 10).join(', ')}`,
    repeatedTotals.flatMap(([, es]) => es.map((e) => e.idempotencyKey ?? `(unkeyed ledger ${e._id})`)),
  );
  check('a key answered 200 answers 200 on every later attempt', laterNon200.length === 0, `${laterNon200.length} keys answered 200 and later a 4xx`, laterNon200);
  check('a replay answers the body of the first 200', bodyChanged.length === 0, `${bodyChanged.length} keys replayed with another body`, bodyChanged);
  check('a replay carries Idempotent-Replayed: true', notMarkedReplayed.length === 0, `${notMarkedReplayed.length} keys answered 200 again without Idempotent-Replayed: true`, notMarkedReplayed);
  if (w.verify) check('every v4 2xx carries a valid LicenseSignature', badSignature.length === 0, `${badSignature.length} keys with an invalid signature`, badSignature);

  const numbers = {
    keys: records.length,
    ok: ok.length,
    refusedLimit: limitRefusals.length,
    refusedOther: otherRefusals.length,
    undetermined: undetermined.length,
    retries,
    unknownAttempts,
    busyAttempts,
    replayAttempts,
    kills,
    stored,
    ledger: entries.length,
    ledgerSum,
    unkeyedLedger: unkeyed.length,
    lostUnits: unkeyed.length > 0 ? Math.max(0, ok.length - stored) : lost.length,
    extraUnits: Math.max(0, stored - ok.length),
    doubledKeys: doubled.length,
    countedRefused: countedRefused.length,
    replayBodyChanged: bodyChanged.length,
    replayNotMarked: notMarkedReplayed.length,
    repeatedTotals: repeatedTotals.length,
    laterNon200: laterNon200.length,
  };
  const summary =
    `[faults] ${scenario} ${w.name}: keys ${numbers.keys}, 200s ${numbers.ok}, refusals ${refused.length} (limit ${limitRefusals.length}, other ${otherRefusals.length}), ` +
    `undetermined ${numbers.undetermined}, retries ${retries} (unknown ${unknownAttempts}, busy ${busyAttempts}), replays ${replayAttempts}, kills ${kills} | ` +
    `stored ${stored}, ledger ${entries.length} (sum ${ledgerSum}, unkeyed ${unkeyed.length}), limit ${w.limit} | ` +
    `lost ${numbers.lostUnits}, extra ${numbers.extraUnits}, doubled keys ${doubled.length}, counted-refused ${countedRefused.length}, replay body changed ${bodyChanged.length}, replay not marked ${notMarkedReplayed.length}, 200-then-4xx ${laterNon200.length}, totals recorded twice ${repeatedTotals.length} | ` +
    `violations ${violations.length}`;

  const lines: string[] = [];
  for (const v of violations) {
    lines.push(`VIOLATION ${scenario} ${w.name}: ${v.invariant}: ${v.detail}`);
    for (const k of v.keys.slice(0, 8)) {
      const rec = byKey.get(k);
      lines.push(rec ? describeKey(rec, entriesByKey.get(k) ?? [], { idempotency: idempotency.get(k) }) : `  ${k} (not a key of this workload) ledger ${JSON.stringify(entriesByKey.get(k))}`);
    }
    if (v.keys.length > 8) lines.push(`  ... and ${v.keys.length - 8} more keys (full report in the JSON file)`);
  }
  return { scenario, workload: w.name, numbers, violations, checks, summary, diagnosis: lines.join('\n') };
}

/**
 * Checks the seat invariants of one seat workload of one run against its license and devices as
 * stored: the live-seat count equals the active devices and never passes the limit; nothing is left
 * between the writes of a seat change (no `seat` outbox entry, no device `seatChange`: the retries and
 * the repair job finished or dropped every change a crash cut off); every activation answered 200
 * holds its seat unless its machine was deactivated afterwards; nothing refused holds one; a retried
 * activation that had been applied answers 200, never a limit refusal; a repeated activation of a
 * machine holding a seat answers 200 with the limit full.
 */
export function analyseSeats(scenario: string, w: Workload, load: Load, db: DbState, kills: number): ScenarioResult {
  const state = db.seats.get(w.name);
  if (!state) throw new Error(`no seat license read for ${w.name}`);
  const records = load.recordsOf(w.name);
  const byKey = new Map(records.map((r) => [r.key, r]));
  const activations = records.filter((r) => r.op === 'activate');
  const releases = records.filter((r) => r.op === 'release');
  const hardwareIdOf = (r: KeyRecord) => (w.name === 'v3-seat' ? seatFingerprint(r.key) : r.key);
  const deviceByHardwareId = new Map(state.devices.map((d) => [d.hardwareId, d]));
  const deviceOf = (r: KeyRecord) => deviceByHardwareId.get(hardwareIdOf(r));
  const isActive = (r: KeyRecord) => deviceOf(r)?.active === true;
  const own = new Set(activations.map(hardwareIdOf));
  const activeDevices = state.devices.filter((d) => d.active);
  const foreignActive = activeDevices.filter((d) => !own.has(d.hardwareId));
  const timesActivated = state.license.timesActivated ?? 0;
  const seatEpoch = state.license.seatEpoch ?? 0;
  const refusedIndex = (r: KeyRecord) => r.attempts.findIndex((a) => a.cls === 'refused');
  const lostBefore = (r: KeyRecord, i: number) => r.attempts.slice(0, i).some((a) => a.cls === 'unknown');

  // A release answered 200, or "no such active device" after an attempt whose answer was lost (that
  // attempt released it, or, for the cleanup of an abandoned activation, the machine held no seat).
  const releaseNotFound = (a: Attempt) => (w.name === 'v4-seat' ? a.code === 'device_not_found' : a.status === 404);
  const releaseOutcome = (r: KeyRecord): 'released' | 'released, answer lost' | 'held no seat' | 'refused' | 'undetermined' => {
    if (r.final === 'ok') return 'released';
    if (r.final !== 'refused') return 'undetermined';
    const i = refusedIndex(r);
    if (!releaseNotFound(r.attempts[i]!)) return 'refused';
    if (lostBefore(r, i)) return 'released, answer lost';
    return r.cleanup ? 'held no seat' : 'refused';
  };
  const released = releases.filter((r) => releaseOutcome(r).startsWith('released'));
  // Deactivations whose answer is definitive: their machine holds no seat afterwards.
  const releasedMachines = new Set(releases.filter((r) => releaseOutcome(r) !== 'refused' && releaseOutcome(r) !== 'undetermined').map((r) => r.of!));
  const releaseRefused = releases.filter((r) => releaseOutcome(r) === 'refused');
  // A cleanup answered "no such device" after a lost answer: whether that attempt released a seat is unknown.
  const ambiguousReleases = released.filter((r) => r.cleanup && releaseOutcome(r) === 'released, answer lost');
  const cleanups = releases.filter((r) => r.cleanup);

  const ok = activations.filter((r) => r.attempts.some((a) => a.cls === 'ok'));
  const holding = ok.filter((r) => r.releasedBy === undefined);
  const holdingInactive = holding.filter((r) => !isActive(r));
  const releasedActive = activations.filter((r) => releasedMachines.has(r.key) && isActive(r));
  const refused = activations.filter((r) => r.final === 'refused');
  const refusedAt = (r: KeyRecord) => r.attempts[refusedIndex(r)]!;
  const limitRefusals = refused.filter((r) => w.limitCodes.includes(refusedAt(r).code ?? ''));
  const otherRefusals = refused.filter((r) => !w.limitCodes.includes(refusedAt(r).code ?? ''));
  // Refused, and no later attempt answered 200: its machine must hold no seat.
  const refusedActive = refused.filter((r) => isActive(r) && !r.attempts.slice(refusedIndex(r) + 1).some((a) => a.cls === 'ok'));
  const retried = activations.filter((r) => r.final !== 'abandoned' && r.attempts.some((a) => a.cls === 'unknown'));
  const retriedOk = retried.filter((r) => r.final === 'ok');
  // Retried after a lost answer, refused although the machine holds its seat: an earlier attempt was applied and the retry was refused.
  const retriedAppliedRefused = retried.filter((r) => r.final === 'refused' && isActive(r));
  const abandoned = activations.filter((r) => r.final === 'abandoned');
  const undetermined = records.filter((r) => r.final === undefined || r.final === 'undetermined');
  // Machines the answers say nothing definitive about (their activation or their deactivation undetermined): either state is possible.
  const openMachines = activations.filter((r) => undetermined.includes(r) || (r.releasedBy !== undefined && undetermined.some((u) => u.key === r.releasedBy)));
  const openActive = openMachines.filter(isActive);
  // Abandoned and not deactivated by a cleanup: may hold a seat (what the repair job made of it).
  const abandonedActive = abandoned.filter((r) => !releasedMachines.has(r.key) && !openMachines.includes(r) && isActive(r));
  const laterNon200: string[] = [];
  for (const r of ok) {
    const first = r.attempts.findIndex((a) => a.cls === 'ok');
    if (r.attempts.slice(first + 1).some((a) => a.cls === 'refused')) laterNon200.push(r.key);
  }
  const okBodies = activations.flatMap((r) => r.attempts.filter((a) => a.cls === 'ok').map((a) => a.body as { times_activated?: number } | undefined));
  const maxAnswered = Math.max(0, ...okBodies.map((b) => b?.times_activated ?? 0));
  const badSignature = w.verify ? records.filter((r) => r.attempts.some((a) => a.cls === 'ok' && a.signatureOk === false)).map((r) => r.key) : [];
  const loadAttempts = records.flatMap((r) => r.attempts.filter((a) => a.phase !== 'replay'));
  const replayAttempts = records.reduce((n, r) => n + r.attempts.filter((a) => a.phase === 'replay').length, 0);

  const { checks, violations, check } = checker();
  check('every key got a definitive answer, abandoned ones apart (harness bound)', undetermined.length === 0, `${undetermined.length} keys undetermined after the retries`, undetermined.map((r) => r.key));
  check('no seat entry left in the license outbox', state.seatEntries === 0, `${state.seatEntries} seat entries after ${db.seatsSettledMs} ms`);
  const changed = state.devices.filter((d) => d.seatChange);
  check(
    'no device left with a seat change in flight',
    changed.length === 0,
    `${changed.length} devices with a seatChange after ${db.seatsSettledMs} ms`,
    changed.map((d) => activations.find((r) => hardwareIdOf(r) === d.hardwareId)?.key ?? `(device ${d._id})`),
  );
  check('the license counts exactly its active devices (timesActivated = devices with active: true)', timesActivated === activeDevices.length, `timesActivated ${timesActivated}, active devices ${activeDevices.length}`);
  check(
    'the limit held (timesActivated, active devices, every answered times_activated <= maxActivations)',
    timesActivated <= w.limit && activeDevices.length <= w.limit && maxAnswered <= w.limit && state.license.maxActivations === w.limit,
    `timesActivated ${timesActivated}, active ${activeDevices.length}, max answered ${maxAnswered}, maxActivations ${state.license.maxActivations}, limit ${w.limit}`,
  );
  check(
    'machines holding a seat = activations answered 200 not deactivated + abandoned (or undetermined) ones that hold a seat',
    activeDevices.length === holding.length + abandonedActive.length + openActive.length,
    `active ${activeDevices.length}, answered 200 and not deactivated ${holding.length}, abandoned holding a seat ${abandonedActive.length}, undetermined holding a seat ${openActive.length}`,
  );
  check('every activation answered 200 whose machine was not deactivated holds its seat', holdingInactive.length === 0, `${holdingInactive.length} machines answered 200 are not active`, holdingInactive.map((r) => r.key));
  check(
    'every machine deactivated holds no seat (a deactivation answered 200, or device_not_found, never leaves its machine active)',
    releasedActive.length === 0,
    `${releasedActive.length} machines deactivated are active (${releasedActive.filter((r) => r.final === 'abandoned').length} of them deactivated by the client of their abandoned activation)`,
    releasedActive.map((r) => r.key),
  );
  check(
    'seatEpoch = deactivations applied (each raised it once)',
    seatEpoch >= released.length - ambiguousReleases.length && seatEpoch <= released.length,
    `seatEpoch ${seatEpoch}, deactivations applied ${released.length}${ambiguousReleases.length > 0 ? ` (${ambiguousReleases.length} of them perhaps without a seat to release)` : ''}`,
  );
  check('no refused activation holds a seat', refusedActive.length === 0, `${refusedActive.length} machines refused are active`, refusedActive.map((r) => r.key));
  check(
    'a retried activation whose earlier attempt was applied answers 200, never a refusal',
    retriedAppliedRefused.length === 0,
    `${retriedAppliedRefused.length} of ${retried.length} retried activations refused although their machine holds a seat (${retriedOk.length} retried ones answered 200)`,
    retriedAppliedRefused.map((r) => r.key),
  );
  check('a key answered 200 answers 200 on every later attempt (a repeated activation counts nothing, with the limit full)', laterNon200.length === 0, `${laterNon200.length} keys answered 200 and later a 4xx`, laterNon200);
  check(
    'a deactivation of a machine answered 200 is never refused (unless an earlier attempt of it was applied)',
    releaseRefused.length === 0,
    `${releaseRefused.length} of ${releases.length - cleanups.length} deactivations refused`,
    releaseRefused.map((r) => r.of!),
  );
  check('every active device is a machine of this workload', foreignActive.length === 0, `${foreignActive.length} active devices that no key activated`);
  check(
    'the limit was reached, and every refusal is a limit refusal (more machines offered than seats)',
    limitRefusals.length > 0 && otherRefusals.length === 0,
    `limit refusals ${limitRefusals.length}, other refusals ${otherRefusals.length} (${[...new Set(otherRefusals.map((r) => refusedAt(r).code ?? refusedAt(r).status))].join(', ')})`,
    otherRefusals.map((r) => r.key),
  );
  if (w.verify) check('every v4 2xx carries a valid LicenseSignature', badSignature.length === 0, `${badSignature.length} keys with an invalid signature`, badSignature);

  const numbers = {
    keys: activations.length,
    ok: ok.length,
    refusedLimit: limitRefusals.length,
    refusedOther: otherRefusals.length,
    undetermined: undetermined.length,
    abandoned: abandoned.length,
    abandonedActive: abandonedActive.length,
    releases: releases.length,
    cleanups: cleanups.length,
    released: released.length,
    releasedAnswerLost: released.filter((r) => releaseOutcome(r) === 'released, answer lost').length,
    retried: retried.length,
    retriedOk: retriedOk.length,
    unknownAttempts: loadAttempts.filter((a) => a.cls === 'unknown').length,
    busyAttempts: loadAttempts.filter((a) => a.cls === 'busy').length,
    replayAttempts,
    kills,
    timesActivated,
    activeDevices: activeDevices.length,
    seatEpoch,
    seatsSettledMs: db.seatsSettledMs,
  };
  const summary =
    `[faults] ${scenario} ${w.name}: machines ${numbers.keys}, 200s ${numbers.ok}, refusals ${refused.length} (limit ${limitRefusals.length}, other ${otherRefusals.length}), ` +
    `undetermined ${numbers.undetermined}, abandoned ${numbers.abandoned} (${numbers.abandonedActive} hold a seat), retried ${numbers.retried} (${numbers.retriedOk} answered 200; unknown ${numbers.unknownAttempts}, busy ${numbers.busyAttempts}), ` +
    `deactivations ${numbers.releases} (${numbers.released} applied, ${numbers.releasedAnswerLost} with the answer lost; ${numbers.cleanups} by the client of an abandoned activation), replays ${replayAttempts}, kills ${kills} | ` +
    `timesActivated ${timesActivated}, active devices ${activeDevices.length}, seatEpoch ${seatEpoch}, limit ${w.limit}, seat changes settled after ${db.seatsSettledMs} ms | violations ${violations.length}`;
  const lines: string[] = [];
  for (const v of violations) {
    lines.push(`VIOLATION ${scenario} ${w.name}: ${v.invariant}: ${v.detail}`);
    for (const k of v.keys.slice(0, 8)) {
      const rec = byKey.get(k);
      const device = rec ? deviceOf(rec) : undefined;
      const stored = device ? `device ${device._id} active=${device.active} seatChange=${JSON.stringify(device.seatChange ?? null)}` : 'no device';
      const release = rec?.releasedBy ? byKey.get(rec.releasedBy) : undefined;
      lines.push(rec ? `${describeKey(rec)}
      stored: ${stored}${release ? `
    release:
${describeKey(release)}` : ''}` : `  ${k}`);
    }
    if (v.keys.length > 8) lines.push(`  ... and ${v.keys.length - 8} more keys (full report in the JSON file)`);
  }
  return { scenario, workload: w.name, numbers, violations, checks, summary, diagnosis: lines.join('\n') };
}

/** Writes everything (every attempt of every key, the ledger, the deployment's event log) for a post-mortem. */
export function writeReport(name: string, payload: unknown): string {
  const file = path.join(tmpdir(), `faults-${name}-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(payload, null, 1));
  return file;
}
