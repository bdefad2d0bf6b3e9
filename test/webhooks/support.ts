import type { LookupAddress } from 'node:dns';
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

/**
 * Every address form a webhook may not reach, as a DNS answer gives it (webhooks.test.ts puts
 * the same addresses in URLs).
 */
export const REFUSED_ADDRESSES: LookupAddress[] = [
  ['127.0.0.1', 4],
  ['10.1.2.3', 4],
  ['172.16.0.1', 4],
  ['192.168.1.1', 4],
  ['169.254.169.254', 4],
  ['0.1.2.3', 4], // 0.0.0.0/8
  ['100.64.0.1', 4], // shared (carrier-grade NAT)
  ['198.18.0.1', 4], // benchmarking
  ['192.0.0.8', 4], // IETF protocol assignments
  ['192.0.2.1', 4], // documentation
  ['198.51.100.7', 4],
  ['203.0.113.9', 4],
  ['224.0.0.1', 4], // multicast
  ['240.0.0.1', 4], // reserved
  ['255.255.255.255', 4],
  ['::', 6],
  ['::1', 6],
  ['::127.0.0.1', 6], // IPv4-compatible (::/96)
  ['::ffff:127.0.0.1', 6], // IPv4-mapped
  ['::ffff:10.0.0.1', 6],
  ['::ffff:0:127.0.0.1', 6], // IPv4-translated
  ['64:ff9b::127.0.0.1', 6], // NAT64 well-known prefix
  ['64:ff9b::a9fe:a9fe', 6], // NAT64 of 169.254.169.254
  ['64:ff9b:1::808:808', 6], // NAT64 local-use prefix
  ['2002:7f00:1::1', 6], // 6to4 of 127.0.0.1
  ['2002:c0a8:101::1', 6], // 6to4 of 192.168.1.1
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 6], // Teredo
  ['2001:db8::1', 6], // documentation
  ['fc00::1', 6], // unique local
  ['fe80::1', 6], // link-local
  ['fec0::1', 6], // site-local (deprecated)
  ['ff02::1', 6], // multicast
  ['100::1', 6], // discard
  ['4000::1', 6], // outside 2000::/3
].map(([address, family]) => ({ address: address as string, family: family as number }));

