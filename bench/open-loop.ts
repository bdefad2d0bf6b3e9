/**
 * Open-loop load: requests leave at fixed arrival times (`rate` per second) whether or not earlier ones
 * were answered, and each latency is measured from the time the request was scheduled to leave, so
 * time spent queueing (in the server, or for a free socket here) counts as latency instead of slowing
 * the sender down. A keep-alive `http.Agent` with up to 1,024 sockets carries them. Percentiles are
 * exact (every latency is kept and sorted: at most a few thousand per second).
 */
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadRequest } from './load.js';

export interface OpenLoopOptions {
  url: string;
  requests: LoadRequest[];
  /** Requests per second, sent at evenly spaced times. */
  rate: number;
  /** Sent at the same rate before the measured part; not recorded. */
  warmupSeconds: number;
  durationSeconds: number;
  /** How long to wait for the answers still outstanding when the schedule ends (default 30 s). */
  drainSeconds?: number;
}

export interface OpenLoopResult {
  rate: number;
  /** Requests scheduled in the measured part. */
  sent: number;
  /** 2xx answers to them. */
  ok: number;
  /** Non-2xx answers, connection errors, and requests still unanswered after the drain. */
  errors: number;
  /** 2xx answers per second, from the first measured send to the last answer (below the rate when the server cannot keep up). */
  achievedRate: number;
  /** Milliseconds from scheduled send to the end of the response. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** The value at quantile `q` of ascending `sorted` (nearest rank). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { hostname, port } = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1_024 });
  const interval = 1_000 / options.rate;
  const warmupCount = Math.round(options.warmupSeconds * options.rate);
  const total = warmupCount + Math.round(options.durationSeconds * options.rate);
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let outstanding = 0;
  let lastAnswerAt = 0;

  const send = (index: number, scheduledAt: number) => {
    const r = options.requests[index % options.requests.length]!;
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const measured = index >= warmupCount;
    outstanding += 1;
    const done = (success: boolean) => {
      outstanding -= 1;
      if (!measured) return;
      if (success) {
        ok += 1;
        lastAnswerAt = performance.now();
        latencies.push(lastAnswerAt - scheduledAt);
      } else {
        errors += 1;
      }
    };
    const req = request({ agent, host: hostname, port, method: r.method, path: r.path, headers: body ? { ...r.headers, 'content-length': String(body.length) } : r.headers }, (res) => {
      res.resume();
      res.once('end', () => done(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300));
      res.once('error', () => done(false));
    });
    req.once('error', () => done(false));
    req.end(body);
  };

  const start = performance.now() + 5;
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && start + next * interval <= now) {
      send(next, start + next * interval);
      next += 1;
    }
    if (next < total) await sleep(Math.max(0, start + next * interval - performance.now()));
  }
  const measuredStart = start + warmupCount * interval;
  const deadline = performance.now() + (options.drainSeconds ?? 30) * 1_000;
  while (outstanding > 0 && performance.now() < deadline) await sleep(10);
  const measuredCount = total - warmupCount;
  const unanswered = measuredCount - ok - errors;
  agent.destroy();
  latencies.sort((x, y) => x - y);
  const ms = (v: number) => Math.round(v * 100) / 100;
  return {
    rate: options.rate,
    sent: measuredCount,
    ok,
    errors: errors + unanswered,
    achievedRate: ok / (Math.max(lastAnswerAt - measuredStart, options.durationSeconds * 1_000) / 1_000),
    p50: ms(quantile(latencies, 0.5)),
    p99: ms(quantile(latencies, 0.99)),
    p999: ms(quantile(latencies, 0.999)),
    max: ms(latencies[latencies.length - 1] ?? NaN),
  };
}
