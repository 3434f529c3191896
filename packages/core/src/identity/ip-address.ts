/**
 * Strict IP address parsing for client identity: one canonical value per address, so the same
 * client always produces the same key.
 *
 * - IPv4 must be four decimal octets without leading zeros (as Node's `net.isIPv4`): the legacy
 *   forms ipaddr.js also accepts (`127.1`, `0x7f.0.0.1`, `017.0.0.1`) are rejected, because a
 *   header value that other software reads differently must not become an address.
 * - IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is unmapped to IPv4, everywhere.
 * - A zone id (`fe80::1%eth0`) is dropped: it names an interface of this host, not the client.
 */
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
/** Characters an IPv6 address (with an embedded IPv4 tail) can contain; a cheap early reject. */
const IPV6_CHARS = /^[0-9a-f:.]+$/i;

/** Parse a plain address (no brackets, no port). `undefined` when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const ip = parseIpKeepMapped(text);
  return ip instanceof ipaddr.IPv6 ? unmap(ip) : ip;
}

/** As {@link parseIp}, but IPv4-mapped IPv6 stays IPv6 (trusted-proxy ranges need the prefix). */
export function parseIpKeepMapped(text: string): IpAddress | undefined {
  if (!text.includes(':')) {
    const m = IPV4.exec(text);
    return m
      ? new ipaddr.IPv4([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])])
      : undefined;
  }
  const zone = text.indexOf('%');
  if (zone === 0) return undefined;
  if (zone > 0) text = text.slice(0, zone);
  if (!IPV6_CHARS.test(text)) return undefined;
  try {
    // Only reached for text that looks like IPv6; a throw here is a malformed address.
    return ipaddr.IPv6.parse(text);
  } catch {
    return undefined;
  }
}

/** True for `::ffff:0:0/96`, checked on the parts directly (ipaddr's `range()` scans every range). */
export function isIpv4Mapped(ip: ipaddr.IPv6): boolean {
  const p = ip.parts;
  return p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0xffff;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; any other address unchanged. */
export function unmap(ip: ipaddr.IPv6): IpAddress {
  if (!isIpv4Mapped(ip)) return ip;
  const hi = ip.parts[6]!;
  const lo = ip.parts[7]!;
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** Dotted quad for IPv4, RFC 5952 text for IPv6 (zone ids were dropped when parsing). */
export function formatIp(ip: IpAddress): string {
  return ip.toString();
}
