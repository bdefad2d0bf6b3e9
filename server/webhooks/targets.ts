import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
/** IANA's global unicast space: every other IPv6 address is reserved by the IETF. */
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

function ipv4From(high: number, low: number): IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that route to it: IPv4-compatible
 * (`::a.b.c.d`), IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`), NAT64's
 * well-known prefix (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`). `'refuse'` for the forms whose
 * IPv4 part cannot be judged alone: Teredo (`2001::/32`, a relay and an obfuscated client address)
 * and the local-use NAT64 prefix (`64:ff9b:1::/48`, laid out as each network chooses). Null when the
 * address carries no IPv4 address.
 */
function embeddedIPv4(address: IPv6): IPv4 | 'refuse' | null {
  const p = address.parts;
  if (address.match(IPV4_COMPATIBLE)) return ipv4From(p[6]!, p[7]!);
  switch (address.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return ipv4From(p[6]!, p[7]!);
    case 'rfc6052':
      return address.match(NAT64_WELL_KNOWN) ? ipv4From(p[6]!, p[7]!) : 'refuse';
    case '6to4':
      return ipv4From(p[1]!, p[2]!);
    case 'teredo':
      return 'refuse';
    default:
      return null;
  }
}

/**
 * True when a webhook may not reach `address` (IPv4 or IPv6): anything ipaddr.js does not classify
 * as `unicast` (private, loopback, link-local, carrier-grade NAT, unspecified, broadcast, multicast,
 * documentation, benchmarking, reserved, unique-local, discard, ...), IPv6 outside `2000::/3`, and
 * whatever is not an IP address at all. An IPv6 address that embeds an IPv4 address is judged as
 * that IPv4 address, or refused when it cannot be (see `embeddedIPv4`).
 */
export function isPrivateAddress(address: string): boolean {
  if (!isIP(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() !== 'unicast';
  const v6 = parsed as IPv6;
  const v4 = embeddedIPv4(v6);
  if (v4 === 'refuse') return true;
  if (v4) return v4.range() !== 'unicast';
  return v6.range() !== 'unicast' || !v6.match(GLOBAL_UNICAST);
}

export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

/** Every address a hostname resolves to, for the lookup options of a connection (tests give their own answers). */
export type ResolveAll = (hostname: string, options?: LookupOptions) => Promise<LookupAddress[]>;

/** `ResolveAll` by the system resolver (`dns.lookup`, every address). */
export const systemResolveAll: ResolveAll = (hostname, options = {}) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { ...options, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/**
 * Checks a webhook URL: http or https, no credentials, and (unless private targets are allowed) a
 * hostname whose every resolved address is public. Throws TargetRefused with the reason.
 */
export async function assertAllowedTarget(raw: string, allowPrivate: boolean, resolveAll: ResolveAll = systemResolveAll): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused('url must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TargetRefused('url must use http or https');
  if (url.username !== '' || url.password !== '') throw new TargetRefused('url must not contain credentials');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await resolveAll(host)).map((a) => a.address);
    } catch {
      throw new TargetRefused(`url host "${host}" does not resolve`);
    }
  }
  if (addresses.length === 0 || addresses.some(isPrivateAddress)) throw new TargetRefused('url must point to a public unicast address (not private, loopback, link-local, shared, documentation, multicast or reserved)');
  return url;
}

/**
 * A `lookup` for outgoing requests that refuses private addresses at connect time, so a hostname
 * that resolved to a public address when the subscription was saved cannot be re-pointed inside.
 */
export function guardedLookup(allowPrivate: boolean, resolveAll: ResolveAll = systemResolveAll): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(hostname, options).then(
      (list) => {
        const usable = allowPrivate ? list : list.filter((a) => !isPrivateAddress(a.address));
        if (usable.length === 0) return callback(new TargetRefused(`${hostname} resolves to a private address`), '', 0);
        if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
