import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { signLicenseApiRequest } from '../../client/license-api-signature.js';
import type { Clock } from '../../server/domain/clock.js';

/**
 * A tiny License API v4 client for tests: signs requests with the typed client's signing function
 * (`client/license-api-signature.ts`, not the server's code) and verifies the `LicenseSignature` of
 * every 2xx response.
 */
export interface V4Response {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface V4RequestOptions {
  body?: unknown;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /** Overrides the Date header (a Date is formatted as RFC 7231); null sends none (the signature still covers the current time). */
  date?: Date | string | null;
  /** Overrides the Authorization header; null sends none. */
  authorization?: string | null;
}

/** The `Authorization` header the client signs for `date` with this key pair (right or wrong). */
export function signedAuthorization(apiKey: string, sharedKey: string, date: string): string {
  return signLicenseApiRequest({ apiKey, sharedKey }, date).Authorization;
}

export function verifySignature(publicKey: KeyObject, data: string, signatureBase64: string): boolean {
  return verify('sha256', Buffer.from(data, 'utf8'), publicKey, Buffer.from(signatureBase64, 'base64'));
}

export class V4Client {
  private readonly publicKey: KeyObject;
  constructor(
    private readonly baseUrl: string,
    private readonly credentials: { licenseApiKey: string; sharedKey: string },
    publicKeyPem: string,
    private readonly clock: Clock = { now: () => new Date() },
  ) {
    this.publicKey = createPublicKey(publicKeyPem);
  }

  verify(data: string, signature: string): boolean {
    return verifySignature(this.publicKey, data, signature);
  }

  async request(method: 'GET' | 'POST', path: string, options: V4RequestOptions = {}): Promise<V4Response> {
    const date = options.date === undefined || options.date === null ? this.clock.now().toUTCString() : typeof options.date === 'string' ? options.date : options.date.toUTCString();
    const headers: Record<string, string> = { Accept: 'application/json', ...(options.date === null ? {} : { Date: date }), ...options.headers };
    const authorization = options.authorization === undefined ? signedAuthorization(this.credentials.licenseApiKey, this.credentials.sharedKey, date) : options.authorization;
    if (authorization !== null) headers.Authorization = authorization;
    let url = `${this.baseUrl}/api/v4/${path}`;
    if (options.query) {
      const params = new URLSearchParams(Object.entries(options.query).filter((e): e is [string, string] => e[1] !== undefined));
      url += `?${params.toString()}`;
    }
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
    const text = await res.text();
    const response: V4Response = { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
    if (res.status >= 200 && res.status < 300) {
      const signature = res.headers.get('licensesignature');
      if (!signature || !this.verify(text, signature)) throw new Error(`${method} ${path}: LicenseSignature missing or invalid`);
      if (JSON.stringify(response.body) !== text) throw new Error(`${method} ${path}: body is not compact JSON.stringify output`);
    }
    return response;
  }

  post(path: string, body: unknown, options: Omit<V4RequestOptions, 'body'> = {}) {
    return this.request('POST', path, { ...options, body });
  }

  get(path: string, query: Record<string, string | undefined>, options: Omit<V4RequestOptions, 'query'> = {}) {
    return this.request('GET', path, { ...options, query });
  }
}
