import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openLoop, quantile } from '../../bench/open-loop.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that answers one request at a time, each after `serviceMs`, counting what it received. */
async function serialServer(serviceMs: number): Promise<{ url: string; received: () => number }> {
  let received = 0;
  let busyUntil = 0;
  server = createServer((req, res) => {
    received += 1;
    req.resume();
    const start = Math.max(performance.now(), busyUntil);
    busyUntil = start + serviceMs;
    setTimeout(() => res.end('{}'), busyUntil - performance.now());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received: () => received };
}

describe('bench open-loop sender', () => {
  it('quantile is the nearest rank of the sorted values', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(quantile(values, 0.5)).toBe(500);
    expect(quantile(values, 0.99)).toBe(990);
    expect(quantile(values, 0.999)).toBe(999);
    expect(quantile(values, 1)).toBe(1000);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('sends on schedule while answers are slow, and counts the queueing as latency', async () => {
    // 50 ms per request, one at a time: at most 20 answers/s; 40 requests are sent within 1 s.
    const target = await serialServer(50);
    const result = await openLoop({ url: target.url, requests: [{ method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: '{}' }], rate: 40, warmupSeconds: 0, durationSeconds: 1 });
    expect(result.sent).toBe(40);
    expect(result.ok).toBe(40);
    expect(result.errors).toBe(0);
    expect(target.received()).toBe(40);
    // The last request was scheduled at ~975 ms and answered after all 40 × 50 ms = 2,000 ms: ~1 s of
    // queueing. A closed loop would have measured about 50 ms for every request.
    expect(result.max).toBeGreaterThan(900);
    expect(result.p50).toBeGreaterThan(400);
    expect(result.achievedRate).toBeLessThan(25);
  });
});
