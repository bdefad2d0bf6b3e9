import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

describe('the real server on a database', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.stop());

  it('is ready when its database answers', async () => {
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok' });
  });

  it('stops gracefully: in-flight requests finish, then the port closes', async () => {
    const other = await startTestServer();
    const inFlight = fetch(`${other.baseUrl}/readyz`);
    await new Promise((r) => setTimeout(r, 5));
    const stopping = other.stop();
    expect((await inFlight).status).toBe(200);
    await stopping;
    await expect(fetch(`${other.baseUrl}/healthz`)).rejects.toThrow();
  });
});
