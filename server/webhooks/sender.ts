import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPrivateAddress, type ResolveAll } from './targets.js';

export interface SendResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivateTargets: boolean;
  /** How target hostnames are resolved (default: the system resolver). */
  resolveAll?: ResolveAll;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/** POSTs a JSON body (`content-type: application/json` unless `headers` set one); 2xx within the timeout is a success. Never throws. */
export function postJson(url: string, body: string, headers: Record<string, string>, options: SendOptions): Promise<SendResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
  return new Promise((resolve) => {
    let settled = false;
    // Declared before `done`: the checks below may settle before the request (and its timer) exists.
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const done = (result: Omit<SendResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: elapsed() });
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      done({ statusCode: null, error: 'invalid url' });
      return;
    }
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup: check it here.
    if (!options.allowPrivateTargets && isIP(literal) && isPrivateAddress(literal)) {
      done({ statusCode: null, error: 'target address is private' });
      return;
    }
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers, 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'metered-licensing-webhooks/1' },
        lookup: guardedLookup(options.allowPrivateTargets, options.resolveAll),
        agent: false,
      },
      (res) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) res.destroy();
        });
        const finish = () => {
          const status = res.statusCode ?? 0;
          done({ statusCode: status, error: status >= 200 && status < 300 ? null : `HTTP ${status}` });
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      },
    );
    timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on('error', (err) => done({ statusCode: null, error: err.message.slice(0, 200) }));
    req.end(body);
  });
}
