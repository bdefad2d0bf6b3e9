import { isIPv6 } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { ApiError } from './api-error.js';
import { headerLines } from './raw-headers.js';

/** One DNS label (letters, digits, hyphens inside, underscores tolerated), as a host name is made of. */
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const REG_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`);
const PORT = /^\d{1,5}$/;

/**
 * Whether `value` is a syntactically valid `Host` header: a host name, an IPv4 address or a
 * bracketed IPv6 address, optionally followed by `:port` (1 to 65535). Nothing else (no spaces,
 * percent signs, paths, credentials or unbalanced brackets), and only what makes a valid URL host.
 */
export function isValidHost(value: string): boolean {
  let host = value;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return false;
    if (!isIPv6(value.slice(1, close))) return false;
    const rest = value.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return false;
    port = rest === '' ? undefined : rest.slice(1);
    host = '';
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (host.length > 253 || !REG_NAME.test(host)) return false;
  }
  if (port !== undefined && !(PORT.test(port) && Number(port) >= 1 && Number(port) <= 65535)) return false;
  // A name the URL standard reads as a bad IPv4 address (`1.2.3.4.5`, `999.1.1.1`) makes no URL either.
  return URL.canParse(`http://${value}/`);
}

function invalidHost(message: string): ApiError {
  return new ApiError(400, 'invalid_host', message);
}

/**
 * Refuses a request whose `Host` header is sent more than once or is not a valid host[:port]
 * (400 `invalid_host` in the dialect's error body), and likewise a trusted proxy's
 * `X-Forwarded-Host` (read only when TRUST_PROXY trusts the peer). A request without any Host
 * (HTTP/1.0) passes: only a link built from it needs one (see `PublicUrls.linkBase`).
 */
export function hostHeaderCheck(): RequestHandler {
  return (req, _res, next) => {
    if (headerLines(req, 'host') > 1) return next(invalidHost('The Host header must be sent once'));
    const host = req.headers.host;
    if (host !== undefined && !isValidHost(host)) return next(invalidHost('The Host header must be a valid host name or address, with an optional port'));
    const effective = req.host;
    if (effective !== undefined && !isValidHost(effective)) return next(invalidHost('The X-Forwarded-Host header must be a valid host name or address, with an optional port'));
    next();
  };
}

/**
 * The server's absolute URLs. With PUBLIC_BASE_URL configured, every absolute URL starts with it.
 * Without it, token issuers use a fixed fallback (never a request's Host, which a client chooses),
 * and links use the request's scheme and validated Host.
 */
export class PublicUrls {
  constructor(
    private readonly configured: string | undefined,
    private readonly fallback: () => string,
  ) {}

  /** The base of URLs that must not depend on the request (activation token issuers). */
  issuerBase(): string {
    return this.configured ?? this.fallback();
  }

  /** The base of links written into the answer to `req` (pagination). */
  linkBase(req: Request): string {
    if (this.configured !== undefined) return this.configured;
    const host = req.host;
    if (host === undefined || !isValidHost(host)) throw invalidHost('A Host header is needed to build the links of this answer');
    const protocol = req.protocol === 'https' ? 'https' : 'http';
    return `${protocol}://${host}`;
  }
}
