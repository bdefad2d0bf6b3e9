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
  /** How long a concurrent retry waits for the running request before giving up (default 20 s). */
  waitMs?: number;
  pollMs?: number;
}

/** How long a completed key answers with its response, unless configured otherwise. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** What a request running under an Idempotency-Key is told about earlier attempts. */
export interface IdempotentAttempt {
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

/**
 * Idempotency keys (per account, kept 24 h): the first request with a key runs and its successful
 * response is stored; every retry with the same key and fingerprint gets that response back without
 * running again, also while the first is still running (retries in this process wait on it directly,
 * retries elsewhere poll the store). The same key with another fingerprint is `idempotency_key_reused`.
 * A failed request stores nothing and frees the key. A claim whose holder crashed is taken over after
 * `lockMs`; the operation is then told so (`resumedSince`) and must find out whether the crashed
 * attempt made its change (consumption looks for the key's ledger entry, written in the same atomic
 * write as the counter) and answer that change's result instead of making it again.
 */
export class IdempotencyService {
  private readonly inflight = new Map<string, { fingerprint: string; outcome: Promise<IdempotentOutcome> }>();
  private readonly retentionMs: number;
  private readonly lockMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly repo: IdempotencyPort,
    private readonly clock: Clock,
    options: IdempotencyOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? IDEMPOTENCY_RETENTION_MS;
    this.lockMs = options.lockMs ?? 30_000;
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
      const claim = await this.repo.claim(
        accountId,
        key,
        fingerprint,
        now,
        new Date(now.getTime() + this.lockMs),
        new Date(now.getTime() + this.retentionMs),
      );
      if (claim.claimed) {
        let response: ExecutedResponse;
        const attempt: IdempotentAttempt = claim.takenOver ? { resumedSince: new Date(claim.takenOver.expiresAt.getTime() - this.retentionMs) } : {};
        try {
          response = await execute(attempt);
        } catch (err) {
          await this.repo.release(accountId, key, fingerprint);
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
