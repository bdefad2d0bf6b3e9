import { createHash } from 'node:crypto';
import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import type { IdempotencyPort } from './ports.js';

/** A response as stored for replay: status and the exact body text. */
export interface StoredResponse {
  status: number;
  body: string;
}

/** What an operation run under a key answers: true `replayed` when it found its change already made by an earlier attempt. */
export interface ExecutedResponse extends StoredResponse {
  replayed?: boolean;
}

export interface IdempotentOutcome extends StoredResponse {
  /** True when this is the stored response of an earlier request with the same key. */
  replayed: boolean;
}

export interface IdempotencyOptions {
  /** How long a completed key answers with its response (default 24 h). */
  retentionMs?: number;
  /** How long a running request's claim is honoured before another may take the key over (default 30 s). */
  lockMs?: number;
  /** How long after it is handed out a write deadline ends (default 5 s, at most half of lockMs). */
  writeWindowMs?: number;
  /** How long a concurrent retry waits for the running request before giving up (default 20 s). */
  waitMs?: number;
  pollMs?: number;
}

/** How long a completed key answers with its response, unless configured otherwise. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** What a request running under an Idempotency-Key is told about earlier attempts, and the deadline of its writes. */
export interface IdempotentAttempt {
  /**
   * The deadline for a counter write this request makes now (`MeterChange.deadline`): the write must
   * apply before it on the database's clock. The claim's lock outlasts every deadline handed out, so
   * a request that takes the claim over knows that no write of this one can still land.
   */
  writeDeadline?: () => Date;
  /**
   * Set when this attempt took over the claim of an earlier one that never finished (it may have made
   * its change before its process died): when the key was first claimed. The operation must then find
   * out whether the change was made and, if so, answer its result instead of making it again.
   */
  resumedSince?: Date;
}

/** A stable fingerprint of a request: what it is (operation) and what it says (body, keys sorted). */
export function requestFingerprint(operation: string, body: unknown): string {
  return createHash('sha256').update(operation).update('\n').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The time the fences are measured in: physical time (the database compares with its own clock, `$$NOW`), never a business clock. */
const physicalNow = (): number => Date.now();

/**
 * Idempotency keys (per account, kept 24 h): the first request with a key runs and its successful
 * response is stored; every retry with the same key and fingerprint gets that response back without
 * running again, also while the first is still running (retries in this process wait on it directly,
 * retries elsewhere poll the store). The same key with another fingerprint is `idempotency_key_reused`.
 * A request refused by the domain (a DomainError: nothing was written) stores nothing and frees the
 * key. A claim whose holder crashed, or failed in a way that leaves its write in doubt (a database
 * error), is taken over once its lock has passed on the database's clock: the lock of a failed request
 * is cut to just after the last write deadline it used, so its retry can take over within seconds. The
 * operation is then told so (`resumedSince`) and must find out whether the earlier attempt made its
 * change (consumption looks for the key's ledger entry, written in the same atomic write as the
 * counter) and answer that change's result instead of making it again. Its writes carry deadlines
 * (`writeDeadline`), so no write of the earlier attempt can land after the takeover.
 */
export class IdempotencyService {
  private readonly inflight = new Map<string, { fingerprint: string; outcome: Promise<IdempotentOutcome> }>();
  private readonly retentionMs: number;
  private readonly lockMs: number;
  private readonly writeWindowMs: number;
  /** How long a lock outlasts the deadlines handed out under it (clocks of several database nodes). */
  private readonly marginMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly repo: IdempotencyPort,
    private readonly clock: Clock,
    options: IdempotencyOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? IDEMPOTENCY_RETENTION_MS;
    this.lockMs = options.lockMs ?? 30_000;
    this.writeWindowMs = Math.min(options.writeWindowMs ?? 5_000, this.lockMs / 2);
    this.marginMs = Math.min(1_000, this.lockMs / 10);
    this.waitMs = options.waitMs ?? 20_000;
    this.pollMs = options.pollMs ?? 25;
  }

  async run(accountId: number, key: string, fingerprint: string, execute: (attempt: IdempotentAttempt) => Promise<ExecutedResponse>): Promise<IdempotentOutcome> {
    const id = `${accountId}:${key}`;
    const running = this.inflight.get(id);
    if (running && running.fingerprint === fingerprint) {
      const outcome = await running.outcome;
      return { ...outcome, replayed: true };
    }
    const outcome = this.claimAndRun(accountId, key, fingerprint, execute);
    if (!running) {
      this.inflight.set(id, { fingerprint, outcome });
      const forget = () => {
        if (this.inflight.get(id)?.outcome === outcome) this.inflight.delete(id);
      };
      outcome.then(forget, forget);
    }
    return outcome;
  }

  private async claimAndRun(accountId: number, key: string, fingerprint: string, execute: (attempt: IdempotentAttempt) => Promise<ExecutedResponse>): Promise<IdempotentOutcome> {
    const started = Date.now();
    for (;;) {
      const now = this.clock.now();
      const lockedUntil = physicalNow() + this.lockMs;
      const claim = await this.repo.claim(accountId, key, fingerprint, now, new Date(lockedUntil), new Date(now.getTime() + this.retentionMs));
      if (claim.claimed) {
        let response: ExecutedResponse;
        let lastDeadline: number | null = null;
        const writeDeadline = (): Date => {
          const deadline = Math.min(physicalNow() + this.writeWindowMs, lockedUntil - this.marginMs);
          lastDeadline = Math.max(lastDeadline ?? deadline, deadline);
          return new Date(deadline);
        };
        const attempt: IdempotentAttempt = { writeDeadline, ...(claim.takenOver ? { resumedSince: new Date(claim.takenOver.expiresAt.getTime() - this.retentionMs) } : {}) };
        try {
          response = await execute(attempt);
        } catch (err) {
          // A domain refusal wrote nothing: the key is free. Any other failure may have written: the
          // claim stays, locked until no write made under it can still land, and is then taken over.
          if (err instanceof DomainError || lastDeadline === null) await this.repo.release(accountId, key, fingerprint);
          else await this.repo.holdUntil(accountId, key, fingerprint, new Date(lastDeadline + this.marginMs)).catch(() => undefined);
          throw err;
        }
        await this.repo.complete(accountId, key, fingerprint, { status: response.status, body: response.body }, this.clock.now());
        return { status: response.status, body: response.body, replayed: response.replayed ?? false };
      }
      const { record } = claim;
      if (record.requestHash !== fingerprint) {
        throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
      }
      if (record.response) return { ...record.response, replayed: true };
      if (Date.now() - started > this.waitMs) {
        throw new DomainError('concurrent_modification', 'A request with this Idempotency-Key is still in progress; retry later');
      }
      await sleep(this.pollMs);
    }
  }
}
