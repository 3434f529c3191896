/**
 * IP address parsing for client identity: one canonical value per address, so the same client
 * always produces the same key. Parsing is ipaddr.js (the library Express's proxy-addr uses);
 * Node's `net.isIP` screens the text first so that only standard notation is accepted.
 *
 * - IPv4 must be four decimal octets: legacy forms ipaddr.js would also accept (`127.1`,
 *   `0x7f.0.0.1`, `017.0.0.1`) are rejected, because a header value that other software reads
 *   differently must not become an address.
 * - IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is unmapped to IPv4, everywhere.
 * - A zone id (`fe80::1%eth0`) is dropped: it names an interface of this host, not the client.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255` plus a zone; anything longer is not an address. */
const MAX_ADDRESS_LENGTH = 64;

/** Parse a plain address (no brackets, no port). `undefined` when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const ip = parseIpKeepMapped(text);
  return ip instanceof ipaddr.IPv6 ? unmap(ip) : ip;
}

/** As {@link parseIp}, but IPv4-mapped IPv6 stays IPv6 (trusted-proxy ranges need the prefix). */
export function parseIpKeepMapped(text: string): IpAddress | undefined {
  if (text.length > MAX_ADDRESS_LENGTH) return undefined;
  const zone = text.indexOf('%');
  const address = zone < 0 ? text : text.slice(0, zone);
  if (zone === 0 || isIP(address) === 0) return undefined;
  return ipaddr.parse(address);
}

/** True for `::ffff:0:0/96`. */
export function isIpv4Mapped(ip: ipaddr.IPv6): boolean {
  return ip.isIPv4MappedAddress();
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; any other address unchanged. */
export function unmap(ip: ipaddr.IPv6): IpAddress {
  return ip.isIPv4MappedAddress() ? ip.toIPv4Address() : ip;
}

/** Dotted quad for IPv4, RFC 5952 text for IPv6 (zone ids were dropped when parsing). */
export function formatIp(ip: IpAddress): string {
  return ip.toString();
}

/** RFC 5952 text of eight 16-bit groups. */
export function formatIpv6(parts: readonly number[]): string {
  return new ipaddr.IPv6([...parts]).toString();
}
