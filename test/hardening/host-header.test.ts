/**
 * The Host header is client input: a malformed one answers 400 `invalid_host` in the dialect's
 * error body (never 500), links are built from PUBLIC_BASE_URL when it is set (never from the
 * Host), and activation token issuers never come from the request. Node's HTTP client always
 * writes its own Host, so these requests are written byte for byte on a socket.
 */
import { decodeJwt } from 'jose';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProduct, consumptionFeature } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { activationBody, fingerprint, seedV3License } from '../v3/support.js';

interface RawAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** Sends `head` (request line and headers, without the blank line) and `body`; reads the answer until the server closes (`Connection: close`). */
function rawRequest(baseUrl: string, head: string[], body = ''): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end);
      const payload = text.slice(end + 4);
      // Node answers HTTP/1.1 with a length, or in chunks when the length is not known up front.
      const json = /\r\ntransfer-encoding: chunked/i.test(head) ? payload.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, '') : payload;
      resolve({ status: Number(head.split(' ')[1]), body: json ? JSON.parse(json) : undefined });
    });
    const headers = [...head, 'Connection: close', ...(body ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`] : [])];
    socket.write(`${headers.join('\r\n')}\r\n\r\n${body}`);
  });
}

const PRODUCTS = '/api/v1/products/?page_size=1';

describe('Host header and absolute links', () => {
  describe('without PUBLIC_BASE_URL', () => {
    let t: TestServer;
    let auth: string;
    beforeAll(async () => {
      t = await startTestServer();
      auth = `Authorization: Api-Key ${t.credentials.managementApiKey}`;
      for (let i = 0; i < 2; i += 1) await buildProduct(t.services, t.account.id, { features: [] });
    });
    afterAll(async () => t?.stop());

    it.each([['a b'], ['[::1'], ['%'], [''], ['evil.example/path'], ['user@evil.example'], ['evil.example:99999'], ['[::1]x'], ['1.2.3.4.5'], ['999.999.999.999']])('Host %j on a paginated list answers 400 invalid_host', async (host) => {
      const res = await rawRequest(t.baseUrl, [`GET ${PRODUCTS} HTTP/1.1`, `Host: ${host}`, auth]);
      expect(res).toEqual({ status: 400, body: { status: 400, code: 'invalid_host', message: 'The Host header must be a valid host name or address, with an optional port' } });
    });

    it('answers in the Web API v3 body on /v3 and refuses two Host headers', async () => {
      expect(await rawRequest(t.baseUrl, ['GET /v3/accounts/me HTTP/1.1', 'Host: a b'])).toEqual({
        status: 400,
        body: { code: 'INVALID_HOST', message: 'The Host header must be a valid host name or address, with an optional port' },
      });
      expect(await rawRequest(t.baseUrl, [`GET ${PRODUCTS} HTTP/1.1`, 'Host: localhost', 'Host: evil.example', auth])).toEqual({
        status: 400,
        body: { status: 400, code: 'invalid_host', message: 'The Host header must be sent once' },
      });
    });

    it('builds links from a valid Host, and needs one for them', async () => {
      for (const host of ['api.example:8443', '127.0.0.1:9', '[::1]:3000', 'localhost']) {
        const res = await rawRequest(t.baseUrl, [`GET ${PRODUCTS} HTTP/1.1`, `Host: ${host}`, auth]);
        expect(res.status).toBe(200);
        expect(res.body.next).toBe(`http://${host}/api/v1/products/?page_size=1&page=2`);
      }
      // HTTP/1.0 may omit Host: the list has no base for its links, so it answers 400; a probe needs none.
      expect(await rawRequest(t.baseUrl, [`GET ${PRODUCTS} HTTP/1.0`, auth])).toEqual({
        status: 400,
        body: { status: 400, code: 'invalid_host', message: 'A Host header is needed to build the links of this answer' },
      });
      expect(await rawRequest(t.baseUrl, ['GET /healthz HTTP/1.0'])).toEqual({ status: 200, body: { status: 'ok' } });
    });

    it('never takes a token issuer from the Host', async () => {
      const product = await buildProduct(t.services, t.account.id, { features: [consumptionFeature('api-calls', 10)] });
      const license = await seedV3License(t.services, t.account.id, product.id, { features: [{ code: 'api-calls', max: 10 }] });
      const res = await rawRequest(t.baseUrl, ['POST /v3/activations HTTP/1.1', 'Host: evil.example'], JSON.stringify(activationBody(license, fingerprint())));
      expect(res.status).toBe(201);
      expect(decodeJwt(res.body.activationToken).iss).toBe(`http://localhost:${new URL(t.baseUrl).port}/v3/accounts/${t.account.id}`);
    });
  });

  describe('with PUBLIC_BASE_URL', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer({ env: { PUBLIC_BASE_URL: 'https://licensing.example.com/api-gw/' } });
      for (let i = 0; i < 3; i += 1) await buildProduct(t.services, t.account.id, { features: [] });
    });
    afterAll(async () => t?.stop());

    it('writes every link from it, whatever the Host', async () => {
      const res = await rawRequest(t.baseUrl, [`GET /api/v1/products/?page_size=1&page=2 HTTP/1.1`, 'Host: evil.example', `Authorization: Api-Key ${t.credentials.managementApiKey}`]);
      expect(res.status).toBe(200);
      expect(res.body.next).toBe('https://licensing.example.com/api-gw/api/v1/products/?page_size=1&page=3');
      expect(res.body.previous).toBe('https://licensing.example.com/api-gw/api/v1/products/?page_size=1&page=1');
      expect(JSON.stringify(res.body)).not.toContain('evil.example');
    });
  });
});
