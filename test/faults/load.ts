/**
 * The load of the fault-injection suite: three workloads at their limits, every request with its own
 * `Idempotency-Key` and amount 1, and a record of every attempt of every key exactly as received.
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

export type WorkloadName = 'v4-feature' | 'v4-license' | 'v3-meter';
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
  attempts: Attempt[];
  inflight: boolean;
  nextAt: number;
  /** The definitive answer: the first ok or refused attempt; 'undetermined' when retries ran out. */
  final?: 'ok' | 'refused' | 'undetermined';
}

interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface Workload {
  name: WorkloadName;
  description: string;
  limit: number;
  /** Error codes that mean "the limit is reached". */
  limitCodes: string[];
  send(baseUrl: string, key: string): Promise<RawAnswer>;
  /** Signature check of a 2xx (v4), or undefined when the dialect signs nothing. */
  verify?(answer: RawAnswer): boolean;
}

const REQUEST_TIMEOUT_MS = 8_000;

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<RawAnswer> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

function v4Headers(seed: SeedInfo, key: string): Record<string, string> {
  return { ...signLicenseApiRequest({ apiKey: seed.credentials.licenseApiKey, sharedKey: seed.credentials.sharedKey }), 'Idempotency-Key': key };
}

export function workloads(seed: SeedInfo, limit: number): Workload[] {
  const publicKey: KeyObject = createPublicKey(seed.publicKeyPem);
  const verifyV4 = (a: RawAnswer) => {
    const signature = a.headers.get('licensesignature');
    return !!signature && verifySignature(publicKey, a.text, signature);
  };
  const ids = { license_key: seed.licenseKey, product: seed.product, hardware_id: 'hw-1' };
  return [
    {
      name: 'v4-feature',
      description: 'v4 add_feature_consumption (feature api-calls)',
      limit,
      limitCodes: ['feature_not_enough_consumptions'],
      send: (base, key) => post(`${base}/api/v4/add_feature_consumption`, v4Headers(seed, key), { ...ids, feature: 'api-calls', consumptions: 1 }),
      verify: verifyV4,
    },
    {
      name: 'v4-license',
      description: 'v4 add_consumption (license consumption)',
      limit,
      limitCodes: ['license_not_enough_consumptions'],
      send: (base, key) => post(`${base}/api/v4/add_consumption`, v4Headers(seed, key), { ...ids, consumptions: 1 }),
      verify: verifyV4,
    },
    {
      name: 'v3-meter',
      description: 'v3 POST /v3/activations/meter-attributes/meter (increment 1)',
      limit,
      limitCodes: ['METER_ATTRIBUTE_USES_LIMIT_REACHED'],
      send: (base, key) => post(`${base}/v3/activations/meter-attributes/meter`, { 'Idempotency-Key': key }, { increment: 1, activationId: seed.activationId, accountId: '' }),
    },
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
  /** Keys offered per workload. */
  keysPerWorkload: number;
  /** Workers per workload (requests in flight per workload). */
  concurrency: number;
  /** Attempts per key before it is given up as undetermined (a harness bound, reported). */
  maxAttempts: number;
  retryDelayMs: number;
}

/**
 * Keys of every workload, offered by workers that retry "unknown" and "busy" answers with the same
 * key and body after a short delay. `pause()` holds new sends while a part is being restarted (the
 * requests already in flight finish however they finish).
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

  constructor(
    readonly workloads: Workload[],
    private readonly baseUrl: () => string,
    private readonly options: LoadOptions,
    /** Time origin of `Attempt.t`. */
    readonly t0 = Date.now(),
  ) {
    for (const w of workloads) {
      const records: KeyRecord[] = [];
      for (let i = 0; i < options.keysPerWorkload; i += 1) {
        const rec: KeyRecord = { key: `${w.name}-${i}-${randomUUID()}`, workload: w.name, attempts: [], inflight: false, nextAt: 0 };
        records.push(rec);
        this.keys.set(rec.key, rec);
      }
      this.order.set(w.name, records);
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

  /** One attempt of one key, recorded exactly as answered. */
  async attempt(w: Workload, rec: KeyRecord): Promise<Attempt> {
    const started = Date.now();
    const n = rec.attempts.length + 1;
    let attempt: Attempt;
    try {
      const answer = await w.send(this.baseUrl(), rec.key);
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

  private next(name: WorkloadName): KeyRecord | undefined | 'wait' {
    const now = Date.now();
    let waiting = false;
    for (const rec of this.order.get(name)!) {
      if (rec.final) continue;
      if (rec.inflight) {
        waiting = true;
        continue;
      }
      if (rec.attempts.length === 0) return rec;
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
      const rec = this.next(w.name);
      if (rec === undefined) return;
      if (rec === 'wait') {
        await sleep(10);
        continue;
      }
      rec.inflight = true;
      const a = await this.attempt(w, rec);
      rec.inflight = false;
      if (a.cls === 'ok' || a.cls === 'refused') rec.final = a.cls;
      else if (rec.attempts.length >= this.options.maxAttempts) rec.final = 'undetermined';
      else rec.nextAt = Date.now() + this.options.retryDelayMs + Math.floor(Math.random() * this.options.retryDelayMs);
    }
  }

  /** Starts the workers (they stop when every key is settled, on stop(), or at the deadline). */
  start(deadlineMs: number) {
    const deadline = Date.now() + deadlineMs;
    this.running = Promise.all(this.workloads.flatMap((w) => Array.from({ length: this.options.concurrency }, () => this.worker(w, deadline)))).then(() => undefined);
  }

  async finished(): Promise<void> {
    await this.running;
  }

  stop() {
    this.stopped = true;
  }

  /** Sends every key that got a 200 once more (same key, same body): each must replay its first 200. */
  async replayAll(concurrency: number): Promise<void> {
    this.phase = 'replay';
    for (const w of this.workloads) {
      const queue = this.order.get(w.name)!.filter((r) => r.attempts.some((a) => a.cls === 'ok'));
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
