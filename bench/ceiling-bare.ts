/**
 * Ceiling (a): a bare `node:http` server answering a fixed small JSON body to every request (the
 * physical limit of one Node process on this machine, load generator included).
 */
import { createServer } from 'node:http';

const body = JSON.stringify({ id: 1, code: 'api-calls', total_consumptions: 1 });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
