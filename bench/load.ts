/**
 * Load generation with autocannon (as a library): a warm-up, then a measured run of fixed duration
 * over a list of precomputed requests. Each connection starts at a different place in the list so
 * that requests spread over the list from the first second.
 */
import autocannon, { type Request as AutocannonRequest } from 'autocannon';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Called by autocannon before each send of this request (e.g. a fresh header per request). */
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}

export interface LoadOptions {
  url: string;
  requests: LoadRequest[];
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Called when the measured run starts and ends (after the warm-up). */
  onMeasure?: (phase: 'start' | 'end') => void;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  /** 2xx answers during the measured run. */
  ok: number;
  /** Non-2xx answers, connection errors and timeouts during warm-up and measured run. */
  errors: number;
  /** 2xx answers during the warm-up. */
  warmupOk: number;
  /** A few non-2xx bodies for the report. */
  sampleErrors: string[];
}

function rotated<T>(items: T[], start: number): T[] {
  return [...items.slice(start), ...items.slice(0, start)];
}

async function once(options: LoadOptions, seconds: number | undefined, amount?: number) {
  let clientIndex = 0;
  const sampleErrors: string[] = [];
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    ...(amount !== undefined ? { amount } : { duration: seconds! }),
    timeout: 10,
    requests: options.requests.slice(0, 1),
    setupClient: (client) => {
      const offset = Math.floor((clientIndex * options.requests.length) / options.connections) % options.requests.length;
      clientIndex += 1;
      client.setRequests(rotated(options.requests, offset));
      client.on('response', (statusCode: number, _bytes: number, _time: number) => {
        if ((statusCode < 200 || statusCode >= 300) && sampleErrors.length < 3) sampleErrors.push(`HTTP ${statusCode}`);
      });
      client.on('body', (body: Buffer) => {
        if (sampleErrors.length > 0 && sampleErrors.length < 6 && sampleErrors[sampleErrors.length - 1]!.startsWith('HTTP')) sampleErrors.push(body.toString('utf8').slice(0, 200));
      });
    },
  } as autocannon.Options);
  const result = await instance;
  return { result, sampleErrors };
}

/** Warm-up, then the measured run. */
export async function measure(options: LoadOptions): Promise<LoadResult> {
  const warm = await once(options, options.warmupSeconds);
  options.onMeasure?.('start');
  const run = await once(options, options.durationSeconds);
  options.onMeasure?.('end');
  const r = run.result;
  const errorsOf = (x: autocannon.Result) => x.non2xx + x.errors + x.timeouts;
  return {
    requestsPerSecond: r['2xx'] / options.durationSeconds,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    ok: r['2xx'],
    errors: errorsOf(warm.result) + errorsOf(r),
    warmupOk: warm.result['2xx'],
    sampleErrors: [...warm.sampleErrors, ...run.sampleErrors].slice(0, 4),
  };
}

/** Exactly `amount` requests (every response awaited): for the correctness pass. */
export async function fixedAmount(options: Omit<LoadOptions, 'warmupSeconds' | 'durationSeconds'>, amount: number): Promise<{ ok: number; errors: number; sampleErrors: string[] }> {
  const run = await once({ ...options, warmupSeconds: 0, durationSeconds: 0 }, undefined, amount);
  return { ok: run.result['2xx'], errors: run.result.non2xx + run.result.errors + run.result.timeouts, sampleErrors: run.sampleErrors };
}
