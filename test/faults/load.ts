/**
 * The load of the fault-injection suite: workloads at their limits and a record of every attempt of
 * every key exactly as received. Counter workloads: every request with its own `Idempotency-Key` and
 * amount 1. Seat workloads: every key is a machine (its own hardware id or fingerprint) activated on a
 * license with fewer seats than keys; some machines answered 200 are deactivated again, each by a key
 * of its own.
 *
 * An attempt is classified from what arrived, never from what was meant:
 * - `ok`: a 2xx was received (status line and whole body read);
 * - `refused`: a 4xx other than "busy" (definitive: the request was not applied);
 * - `busy`: 409 concurrent_modification / CONFLICT ("still in progress, retry later") or 429;
 * - `unknown`: a 5xx, a dropped connection, a refused connection or a client timeout: it may or may
 *   not have been applied, so it is retried with the same key and body.
 */
import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { signLicenseApiRequest } from '../../client/license-api-signature.js';
import { verifySignature } from '../v4/signed-fetch.js';
import type { SeedInfo } from './processes.js';

export type WorkloadName = 'v4-feature' | 'v4-license' | 'v3-meter' | 'v4-seat' | 'v3-seat';
export type AttemptClass = 'ok' | 'refused' | 'busy' | 'unknown';

export interface Attempt {
  n: number;
  phase: string;
  status: number; // 0: no HTTP answer
  cls: AttemptClass;
  code?: string | undefined;
  body?: unknown;
  text?: string | undefined;
  replayed: boolean;
  /** v4 2xx only: the LicenseSignature header verified over the exact body bytes. */
  signatureOk?: boolean | undefined;
  error?: string | undefined;
  /** When it was sent, in ms since the load started (the deployment's event log uses the same clock). */
  t: number;
  ms: number;
}

export interface KeyRecord {
  key: string;
  workload: WorkloadName;
  /** Seat workloads: an activation of the machine `key`, or the release (deactivation) of the machine of activation key `of`. */
  op?: 'activate' | 'release' | undefined;
  /** A release: the activation key whose machine it deactivates. */
  of?: string | undefined;
  /** A release sent by the client of an abandoned activation instead of a retry (its machine may or may not hold a seat). */
  cleanup?: boolean | undefined;
  /** A release: what the request names (the hardware id, or the Web API v3 activation id). */
  target?: string | undefined;
  /** An activation whose machine a release key was made for. */
  releasedBy?: string | undefined;
  /** Position among the workload's initial keys. */
  index: number;
  attempts: Attempt[];
  inflight: boolean;
  nextAt: number;
  /**
   * The definitive answer: the first ok or refused attempt; 'undetermined' when retries ran out;
   * 'abandoned' for a key its client gave up on after an attempt a crash cut off (never retried).
   */
  final?: 'ok' | 'refused' | 'undetermined' | 'abandoned';
}

interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface Workload {
  name: WorkloadName;
  kind: 'counter' | 'seat';
  description: string;
  limit: number;
  /** Error codes that mean "the limit is reached". */
  limitCodes: string[];
  /** Keys offered (default: the load's keysPerWorkload). */
  keys?: number;
  /** Workers (default: the load's concurrency). */
  concurrency?: number;
  /** Keys never sent are offered no faster than the counter workloads settle theirs (so every kill finds this workload mid-load). */
  paced?: boolean;
  send(baseUrl: string, rec: KeyRecord): Promise<RawAnswer>;
  /** Signature check of a 2xx (v4), or undefined when the dialect signs nothing. */
  verify?(answer: RawAnswer): boolean;
  /** A key to send once `rec` has its first 2xx `a` or was abandoned after `a` (inserted right after it), or none. */
  followUp?(rec: KeyRecord, a: Attempt): Pick<KeyRecord, 'key' | 'op' | 'of' | 'target' | 'cleanup'> | undefined;
  /** Whether the client of `rec` gives up after the attempt `a` without a definitive answer (never retried). */
  abandons?(rec: KeyRecord, a: Attempt): boolean;
  /** Whether the replay pass sends `rec` again (default: every key answered 2xx). */
  replays?(rec: KeyRecord): boolean;
}

const REQUEST_TIMEOUT_MS = 8_000;

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<RawAnswer> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

async function del(url: string): Promise<RawAnswer> {
  const res = await fetch(url, { method: 'DELETE', headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

/** The Web API v3 machine fingerprint of a seat key (64..1024 characters). */
export function seatFingerprint(key: string): string {
  return `fp-${key}-`.padEnd(64, 'x');
}

/** The activation id (`aid`) in the activation token a Web API v3 activation answers. */
export function activationIdOfToken(body: unknown): string | undefined {
  const token = (body as { activationToken?: unknown } | undefined)?.activationToken;
  if (typeof token !== 'string') return undefined;
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aid?: unknown };
    return typeof claims.aid === 'string' ? claims.aid : undefined;
  } catch {
    return undefined;
  }
}

/** Seat workloads: which activations answered 200 are deactivated again, and how many cut-off activations are abandoned. */
export interface SeatPlan {
  /** Machines activated per workload (more than the limit). */
  keys: number;
  concurrency: number;
  /** An activation key at index i < releaseBelow with i % releaseEvery === 1 is deactivated right after its first 200. */
  releaseEvery: number;
  releaseBelow: number;
  /** At most this many activations cut off by a crash are abandoned by their client (every other one). */
  maxAbandoned: number;
}

/** Whether the client of every second abandoned activation deactivates its machine instead (it can name it: the License API). */
type Cleanup = ((rec: KeyRecord) => string) | undefined;

/** No HTTP answer although the request was sent (not a refused connection), or a 5xx: a crash cut it off on its way. */
function cutOff(a: Attempt): boolean {
  return a.cls === 'unknown' && (a.status >= 500 || (a.status === 0 && !/ECONNREFUSED/.test(a.error ?? '')));
}

/**
 * A seat workload: activations of distinct machines, some deactivated again right after their 200,
 * and every other activation a crash cut off abandoned, up to `maxAbandoned`: its client never
 * retries it, so only the repair job can finish or drop what it left; with `cleanup`, every second
 * abandoning client deactivates its machine instead (the machine must then hold no seat, whatever the
 * cut-off activation had done).
 */
function seatWorkload(
  base: Pick<Workload, 'name' | 'description' | 'limit' | 'limitCodes' | 'verify'>,
  plan: SeatPlan,
  activate: (baseUrl: string, rec: KeyRecord) => Promise<RawAnswer>,
  release: (baseUrl: string, rec: KeyRecord) => Promise<RawAnswer>,
  targetOf: (rec: KeyRecord, a: Attempt) => string | undefined,
  cleanup: Cleanup = undefined,
): Workload {
  let cutOffs = 0;
  let abandoned = 0;
  return {
    ...base,
    kind: 'seat',
    keys: plan.keys,
    concurrency: plan.concurrency,
    paced: true,
    send: (baseUrl, rec) => (rec.op === 'release' ? release(baseUrl, rec) : activate(baseUrl, rec)),
    followUp: (rec, a) => {
      if (rec.op !== 'activate') return undefined;
      if (rec.final === 'abandoned') return cleanup && abandoned % 2 === 0 ? { key: `${rec.key}-cleanup`, op: 'release', of: rec.key, target: cleanup(rec), cleanup: true } : undefined;
      if (rec.index >= plan.releaseBelow || rec.index % plan.releaseEvery !== 1) return undefined;
      const target = targetOf(rec, a);
      return target === undefined ? undefined : { key: `${rec.key}-release`, op: 'release', of: rec.key, target };
    },
    abandons: (rec, a) => {
      if (rec.op !== 'activate' || rec.attempts.length !== 1 || !cutOff(a)) return false;
      cutOffs += 1;
      if (cutOffs % 2 === 0 || abandoned >= plan.maxAbandoned) return false;
      abandoned += 1;
      return true;
    },
    replays: (rec) => rec.op === 'activate' && rec.releasedBy === undefined,
  };
}

function v4Signed(seed: SeedInfo): Record<string, string> {
  return { ...signLicenseApiRequest({ apiKey: seed.credentials.licenseApiKey, sharedKey: seed.credentials.sharedKey }) };
}

function v4Headers(seed: SeedInfo, key: string): Record<string, string> {
  return { ...v4Signed(seed), 'Idempotency-Key': key };
}

export function workloads(seed: SeedInfo, limit: number, seats: { limit: number; plan: SeatPlan }): Workload[] {
  const publicKey: KeyObject = createPublicKey(seed.publicKeyPem);
  const verifyV4 = (a: RawAnswer) => {
    const signature = a.headers.get('licensesignature');
    return !!signature && verifySignature(publicKey, a.text, signature);
  };
  const ids = { license_key: seed.licenseKey, product: seed.product, hardware_id: 'hw-1' };
  const v4Seat = { license_key: seed.seatLicenses.v4.licenseKey, product: seed.product };
  const v3Seat = seed.seatLicenses.v3;
  return [
    {
      name: 'v4-feature',
      kind: 'counter',
      description: 'v4 add_feature_consumption (feature api-calls)',
      limit,
      limitCodes: ['feature_not_enough_consumptions'],
      send: (base, { key }) => post(`${base}/api/v4/add_feature_consumption`, v4Headers(seed, key), { ...ids, feature: 'api-calls', consumptions: 1 }),
      verify: verifyV4,
    },
    {
      name: 'v4-license',
      kind: 'counter',
      description: 'v4 add_consumption (license consumption)',
      limit,
      limitCodes: ['license_not_enough_consumptions'],
      send: (base, { key }) => post(`${base}/api/v4/add_consumption`, v4Headers(seed, key), { ...ids, consumptions: 1 }),
      verify: verifyV4,
    },
    {
      name: 'v3-meter',
      kind: 'counter',
      description: 'v3 POST /v3/activations/meter-attributes/meter (increment 1)',
      limit,
      limitCodes: ['METER_ATTRIBUTE_USES_LIMIT_REACHED'],
      send: (base, { key }) => post(`${base}/v3/activations/meter-attributes/meter`, { 'Idempotency-Key': key }, { increment: 1, activationId: seed.activationId, accountId: '' }),
    },
    // A repeated activation of a machine that holds a seat answers 200 again and counts nothing (the
    // spec of activate_license and of POST /v3/activations): so a retry needs no Idempotency-Key, the
    // machine is the key. A deactivation whose first attempt applied answers device_not_found (v4) or
    // 404 (v3) when retried: the analysis reads that as "released, the answer was lost".
    seatWorkload(
      { name: 'v4-seat', description: 'v4 activate_license of distinct hardware ids (and deactivate_license)', limit: seats.limit, limitCodes: ['license_activated_max_times'], verify: verifyV4 },
      seats.plan,
      (base, rec) => post(`${base}/api/v4/activate_license`, v4Signed(seed), { ...v4Seat, hardware_id: rec.key, hostname: 'faults' }),
      (base, rec) => post(`${base}/api/v4/deactivate_license`, v4Signed(seed), { ...v4Seat, hardware_id: rec.target }),
      (rec) => rec.key,
      (rec) => rec.key,
    ),
    seatWorkload(
      { name: 'v3-seat', description: 'v3 POST /v3/activations of distinct fingerprints (and DELETE /v3/activations/{id})', limit: seats.limit, limitCodes: ['ACTIVATION_LIMIT_REACHED'] },
      seats.plan,
      (base, rec) =>
        post(`${base}/v3/activations`, {}, { os: 'linux', fingerprint: seatFingerprint(rec.key), hostname: 'faults', userHash: 'faults', productId: v3Seat.productId, accountId: '', key: v3Seat.licenseKey }),
      (base, rec) => del(`${base}/v3/activations/${encodeURIComponent(rec.target ?? '')}`),
      (_rec, a) => activationIdOfToken(a.body),
    ),
  ];
}

/** Background traffic on the same license (feature `bulk`), each request with its own key. */
export async function bulkTraffic(seed: SeedInfo, baseUrl: string, count: number, concurrency = 32): Promise<{ ok: number; other: Record<string, number> }> {
  let next = 0;
  let ok = 0;
  const other: Record<string, number> = {};
  const deadline = Date.now() + 30_000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && Date.now() < deadline) {
        next += 1;
        const key = `bulk-${randomUUID()}`;
        const status = await post(`${baseUrl}/api/v4/add_feature_consumption`, v4Headers(seed, key), { license_key: seed.licenseKey, product: seed.product, hardware_id: 'hw-1', feature: 'bulk', consumptions: 1 }).then(
          (a) => String(a.status),
          (e: Error) => e.name,
        );
        if (status === '200') ok += 1;
        else other[status] = (other[status] ?? 0) + 1;
      }
    }),
  );
  return { ok, other };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return `${err.name}: ${err.message}${cause ? ` (${cause.code ?? cause.message ?? ''})` : ''}`;
}

export interface LoadOptions {
  /** Keys offered per workload (unless the workload says otherwise). */
  keysPerWorkload: number;
  /** Workers per workload (requests in flight per workload, unless the workload says otherwise). */
  concurrency: number;
  /** Attempts per key before it is given up as undetermined (a harness bound, reported). */
  maxAttempts: number;
  retryDelayMs: number;
}

/** How far (fraction of its keys) a paced workload may run ahead of the counter workloads' settled fraction. */
const PACE_LEAD = 0.05;

/**
 * Keys of every workload, offered by workers that retry "unknown" and "busy" answers with the same
 * key and body after a short delay (unless the workload's client abandons the key). `pause()` holds
 * new sends while a part is being restarted (the requests already in flight finish however they
 * finish).
 */
export class Load {
  readonly keys = new Map<string, KeyRecord>();
  private readonly order = new Map<WorkloadName, KeyRecord[]>();
  phase = 'load';
  private paused = false;
  /** While true, only keys never sent yet are sent: retries wait (e.g. while other traffic runs first). */
  holdRetries = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** Pacing: keys of the workloads that are not paced, how many of them are settled, initial keys sent per paced workload. */
  private unpacedKeys = 0;
  private settledUnpaced = 0;
  private readonly sentPaced = new Map<WorkloadName, number>();

  constructor(
    readonly workloads: Workload[],
    private readonly baseUrl: () => string,
    private readonly options: LoadOptions,
    /** Time origin of `Attempt.t`. */
    readonly t0 = Date.now(),
  ) {
    for (const w of workloads) {
      const records: KeyRecord[] = [];
      for (let i = 0; i < (w.keys ?? options.keysPerWorkload); i += 1) {
        const rec: KeyRecord = { key: `${w.name}-${i}-${randomUUID()}`, workload: w.name, ...(w.kind === 'seat' ? { op: 'activate' as const } : {}), index: i, attempts: [], inflight: false, nextAt: 0 };
        records.push(rec);
        this.keys.set(rec.key, rec);
      }
      this.order.set(w.name, records);
      if (!w.paced) this.unpacedKeys += records.length;
    }
  }

  pause() {
    this.paused = true;
  }

  resume() {
    this.paused = false;
  }

  /** Keys with a definitive (or given-up) answer, over all keys. */
  settledFraction(): number {
    let settled = 0;
    for (const rec of this.keys.values()) if (rec.final) settled += 1;
    return settled / this.keys.size;
  }

  done(): boolean {
    for (const rec of this.keys.values()) if (!rec.final) return false;
    return true;
  }

  /** Whether a paced workload may send a key never sent yet: its sent fraction does not lead the other workloads' settled one. */
  private mayStartPaced(w: Workload): boolean {
    const own = w.keys ?? this.options.keysPerWorkload;
    return this.unpacedKeys === 0 || (this.sentPaced.get(w.name) ?? 0) / own <= this.settledUnpaced / this.unpacedKeys + PACE_LEAD;
  }

  /** One attempt of one key, recorded exactly as answered. */
  async attempt(w: Workload, rec: KeyRecord): Promise<Attempt> {
    const started = Date.now();
    const n = rec.attempts.length + 1;
    let attempt: Attempt;
    try {
      const answer = await w.send(this.baseUrl(), rec);
      let body: unknown;
      try {
        body = answer.text ? JSON.parse(answer.text) : undefined;
      } catch {
        body = undefined;
      }
      const code = body && typeof body === 'object' && typeof (body as { code?: unknown }).code === 'string' ? (body as { code: string }).code : undefined;
      let cls: AttemptClass;
      if (answer.status >= 200 && answer.status < 300) cls = 'ok';
      else if (answer.status === 429 || (answer.status === 409 && /^(concurrent_modification|conflict)$/i.test(code ?? ''))) cls = 'busy';
      else if (answer.status >= 400 && answer.status < 500) cls = 'refused';
      else cls = 'unknown';
      attempt = {
        n,
        phase: this.phase,
        status: answer.status,
        cls,
        code,
        body,
        text: cls === 'ok' ? undefined : answer.text.slice(0, 300),
        replayed: answer.headers.get('idempotent-replayed') === 'true',
        signatureOk: cls === 'ok' && w.verify ? w.verify(answer) : undefined,
        t: started - this.t0,
        ms: Date.now() - started,
      };
    } catch (err) {
      attempt = { n, phase: this.phase, status: 0, cls: 'unknown', replayed: false, error: errorText(err), t: started - this.t0, ms: Date.now() - started };
    }
    rec.attempts.push(attempt);
    return attempt;
  }

  private next(w: Workload): KeyRecord | undefined | 'wait' {
    const now = Date.now();
    let waiting = false;
    let mayStart: boolean | undefined;
    for (const rec of this.order.get(w.name)!) {
      if (rec.final) continue;
      if (rec.inflight) {
        waiting = true;
        continue;
      }
      if (rec.attempts.length === 0) {
        // Releases go out at once; a paced workload's new activations wait for the others.
        if (rec.op === 'release' || !w.paced) return rec;
        mayStart ??= this.mayStartPaced(w);
        if (mayStart) {
          this.sentPaced.set(w.name, (this.sentPaced.get(w.name) ?? 0) + 1);
          return rec;
        }
        waiting = true;
        continue;
      }
      if (rec.nextAt <= now && !this.holdRetries) return rec;
      waiting = true;
    }
    return waiting ? 'wait' : undefined;
  }

  private async worker(w: Workload, deadline: number) {
    while (!this.stopped && Date.now() < deadline) {
      if (this.paused) {
        await sleep(10);
        continue;
      }
      const rec = this.next(w);
      if (rec === undefined) return;
      if (rec === 'wait') {
        await sleep(10);
        continue;
      }
      rec.inflight = true;
      const a = await this.attempt(w, rec);
      rec.inflight = false;
      if (a.cls === 'ok' || a.cls === 'refused') rec.final = a.cls;
      else if (w.abandons?.(rec, a)) rec.final = 'abandoned';
      else if (rec.attempts.length >= this.options.maxAttempts) rec.final = 'undetermined';
      else rec.nextAt = Date.now() + this.options.retryDelayMs + Math.floor(Math.random() * this.options.retryDelayMs);
      if (rec.final && !w.paced) this.settledUnpaced += 1;
      if (rec.final === 'ok' || rec.final === 'abandoned') this.addFollowUp(w, rec, a);
    }
  }

  /** The key the workload sends after `rec`'s first 2xx (or its abandonment), placed right after it (so it goes before keys never sent). */
  private addFollowUp(w: Workload, rec: KeyRecord, a: Attempt) {
    const next = w.followUp?.(rec, a);
    if (!next) return;
    const records = this.order.get(w.name)!;
    const follow: KeyRecord = { ...next, workload: w.name, index: rec.index, attempts: [], inflight: false, nextAt: 0 };
    rec.releasedBy = follow.key;
    records.splice(records.indexOf(rec) + 1, 0, follow);
    this.keys.set(follow.key, follow);
  }

  /** Starts the workers (they stop when every key is settled, on stop(), or at the deadline). */
  start(deadlineMs: number) {
    const deadline = Date.now() + deadlineMs;
    this.running = Promise.all(this.workloads.flatMap((w) => Array.from({ length: w.concurrency ?? this.options.concurrency }, () => this.worker(w, deadline)))).then(() => undefined);
  }

  async finished(): Promise<void> {
    await this.running;
  }

  stop() {
    this.stopped = true;
  }

  /**
   * Sends every key that got a 200 once more (same key, same body): a counter key must replay its
   * first 200; a seat activation whose machine was not deactivated must answer 200 again (the machine
   * holds its seat, although the limit is full).
   */
  async replayAll(concurrency: number): Promise<void> {
    this.phase = 'replay';
    for (const w of this.workloads) {
      const queue = this.order.get(w.name)!.filter((r) => r.attempts.some((a) => a.cls === 'ok') && (w.replays?.(r) ?? true));
      let i = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (i < queue.length) {
            const rec = queue[i]!;
            i += 1;
            // Retry what did not answer definitively (bounded), like a client would.
            for (let tries = 0; tries < 10; tries += 1) {
              const a = await this.attempt(w, rec);
              if (a.cls === 'ok' || a.cls === 'refused') break;
              await sleep(this.options.retryDelayMs);
            }
          }
        }),
      );
    }
  }

  recordsOf(name: WorkloadName): KeyRecord[] {
    return this.order.get(name)!;
  }
}
