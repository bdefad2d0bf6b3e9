/**
 * The request log line: one per request, with the client's address as Express sees it (the socket's
 * peer, or behind a proxy trusted by TRUST_PROXY the address it forwards in X-Forwarded-For).
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestContext } from '../../server/http/request-context.js';
import { createLogger } from '../../server/logger.js';

describe('request log line', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function logged(trustProxy: false | number, forwardedFor: string): Promise<Record<string, unknown>> {
    const lines: string[] = [];
    const app = express();
    app.set('trust proxy', trustProxy);
    app.use(requestContext(createLogger('info', { write: (line: string) => void lines.push(line) })));
    app.get('/v3/activations/:id', (_req, res) => void res.status(204).end());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    close = () => new Promise((resolve) => server.close(() => resolve()));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/activations/3f2a-secret?x=1`, { headers: { 'X-Forwarded-For': forwardedFor } });
    expect(res.status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!) as Record<string, unknown>;
  }

  it('carries the socket peer as the client when no proxy is trusted (X-Forwarded-For ignored)', async () => {
    expect(await logged(false, '203.0.113.7')).toMatchObject({ msg: 'request', method: 'GET', path: '/v3/activations/[redacted]', status: 204, ip: '127.0.0.1' });
  });

  it('carries the forwarded client behind a trusted proxy', async () => {
    expect(await logged(1, '203.0.113.7')).toMatchObject({ msg: 'request', path: '/v3/activations/[redacted]', status: 204, ip: '203.0.113.7' });
  });
});
