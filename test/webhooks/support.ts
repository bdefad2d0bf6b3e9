import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateExamples } from '../docs/examples.js';
import { isObject, loadBundledSpec, resolveRef, type Json } from '../docs/spec.js';

export interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
  // Payloads are JSON whose shape each test asserts (and payloadViolations checks against the spec).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: { event: string; data: any; triggeredAt: string };
  at: number;
}

/** A webhook receiver on loopback: records every request; `respond` picks each answer's status (200 by default). */
export interface Receiver {
  url: string;
  received: Received[];
  respond: (request: Received, index: number) => number;
  /** Resolves once `predicate` holds over what was received (polls every 20 ms), or rejects after `timeoutMs`. */
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    respond: () => 200,
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(receiver.received)) {
        if (Date.now() > deadline) throw new Error(`receiver: condition not met in ${timeoutMs} ms (received ${receiver.received.length})`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return receiver.received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const entry: Received = { headers: req.headers, rawBody, body: JSON.parse(rawBody) as Received['body'], at: Date.now() };
      const index = receiver.received.length;
      receiver.received.push(entry);
      res.writeHead(receiver.respond(entry, index), { 'content-type': 'text/plain', connection: 'close' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return receiver;
}

/** Validates received payloads against the request body schema of their event in the spec's `webhooks:` section. */
export function payloadViolations(received: Received[]): string[] {
  const spec = loadBundledSpec();
  const webhooks = isObject(spec.webhooks) ? spec.webhooks : {};
  const cases = received.map((r, i) => {
    const item = resolveRef(spec, webhooks[r.body.event]);
    const post = isObject(item) && isObject(item.post) ? item.post : {};
    const requestBody = resolveRef(spec, post.requestBody);
    const content = isObject(requestBody) && isObject(requestBody.content) ? requestBody.content : {};
    const media = isObject(content['application/json']) ? content['application/json'] : {};
    // An event missing from the spec gets a schema that fails.
    return { where: `#${i} ${r.body.event}`, schema: media.schema ?? { not: {} }, value: r.body as unknown as Json };
  });
  return validateExamples(spec, cases).map((f) => `${f.where}: ${f.errors.join('; ')}`);
}

export const fastDelivery = {
  WEBHOOKS_POLL_INTERVAL_MS: '20',
  WEBHOOKS_RETRY_BASE_MS: '30',
  WEBHOOKS_RETRY_MAX_DELAY_MS: '200',
  WEBHOOKS_REPAIR_AFTER_MS: '2000',
};
