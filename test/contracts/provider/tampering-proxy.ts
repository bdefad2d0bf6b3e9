import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Rewrites the JSON body of the answers to one path (method + path, e.g. `GET /healthz`). */
export type Tamper = (body: Record<string, unknown>) => Record<string, unknown>;

export interface TamperingProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of the real server that changes chosen responses, standing in for a
 * server whose code drifted from the contract (a field deleted or renamed, an error code changed).
 */
export async function startTamperingProxy(target: string, tampers: Record<string, Tamper>): Promise<TamperingProxy> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
          if (value !== undefined && name !== 'host' && name !== 'connection') headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const upstream = await fetch(new URL(req.url ?? '/', target), {
          method: req.method ?? 'GET',
          headers,
          ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
        });
        let body = Buffer.from(await upstream.arrayBuffer());
        const tamper = tampers[`${req.method} ${new URL(req.url ?? '/', target).pathname}`];
        if (tamper && (upstream.headers.get('content-type') ?? '').includes('json')) {
          body = Buffer.from(JSON.stringify(tamper(JSON.parse(body.toString('utf8')) as Record<string, unknown>)));
        }
        const out: Record<string, string> = {};
        upstream.headers.forEach((value, name) => {
          if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) out[name] = value;
        });
        res.writeHead(upstream.status, { ...out, 'content-length': String(body.length) });
        res.end(body);
      })().catch((err: unknown) => {
        res.writeHead(502).end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
