import { connect } from 'node:net';
import type { AccountCredentials } from '../../../server/domain/accounts.js';
import { signLicenseApiRequest } from '../../../client/license-api-signature.js';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export type Dialect = 'v1' | 'v3' | 'v4' | 'service';

/** A raw HTTP call: `body` as a string is sent verbatim (hostile input), anything else as JSON. */
export async function send(baseUrl: string, method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Signed License API headers for `now` (or a given date). */
export function v4Headers(credentials: Pick<AccountCredentials, 'licenseApiKey' | 'sharedKey'>, date = new Date()): Record<string, string> {
  return { ...signLicenseApiRequest({ apiKey: credentials.licenseApiKey, sharedKey: credentials.sharedKey }, date.toUTCString()) };
}

/** The credentials each dialect expects, as headers. */
export function credentialHeaders(dialect: Dialect, credentials: AccountCredentials): Record<string, string> {
  switch (dialect) {
    case 'v1':
      return { Authorization: `Api-Key ${credentials.managementApiKey}` };
    case 'v4':
      return v4Headers(credentials);
    case 'v3':
      return { Authorization: `Bearer ${credentials.v3AccessToken}` };
    default:
      return {};
  }
}

export function dialectOfPath(path: string): Dialect {
  if (path.startsWith('/api/v1')) return 'v1';
  if (path.startsWith('/api/v4')) return 'v4';
  if (path.startsWith('/v3')) return 'v3';
  return 'service';
}

/** Asserts-friendly check that a body is the dialect's error body with `code` (lower_snake given). */
export function isDialectError(dialect: Dialect, status: number, body: unknown, code?: string): boolean {
  if (body === null || typeof body !== 'object') return false;
  const b = body as Record<string, unknown>;
  if (typeof b.message !== 'string' || typeof b.code !== 'string') return false;
  if (dialect === 'v1' || dialect === 'v4') {
    return Object.keys(b).length === 3 && b.status === status && /^[a-z0-9_]+$/.test(b.code) && (code === undefined || b.code === code);
  }
  return Object.keys(b).length === 2 && /^[A-Z0-9_]+$/.test(b.code) && (code === undefined || b.code === code.toUpperCase());
}

export interface RawExchange {
  /** Status of the first response (0 if none came). */
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** Milliseconds from sending to the end of the exchange. */
  ms: number;
  /** The server closed the connection (rather than the wait running out). */
  closedByServer: boolean;
}

/**
 * Writes `request` verbatim on a plain TCP socket (so header lines can be repeated, lengths
 * announced and never honoured) and sends nothing more; waits until the server closes the
 * connection or `waitMs` passes, and reads the response.
 */
export function rawExchange(baseUrl: string, request: string, waitMs = 5_000): Promise<RawExchange> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(request));
    const finish = (closedByServer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', payload = ''] = text.split('\r\n\r\n', 2);
      let body: unknown;
      try {
        body = payload ? JSON.parse(payload) : undefined;
      } catch {
        body = undefined;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), text, body, ms: Date.now() - started, closedByServer });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish(true));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
