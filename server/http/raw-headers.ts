import type { IncomingMessage } from 'node:http';

/**
 * How many times the request carries the header `name` (lower case). Node keeps only the first of
 * some repeated headers (Host, Authorization, ...) in `req.headers`; the raw list has them all.
 */
export function headerLines(req: Pick<IncomingMessage, 'rawHeaders'>, name: string): number {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === name) count += 1;
  return count;
}
