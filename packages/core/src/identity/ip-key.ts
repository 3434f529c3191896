/**
 * Address → client key. An IPv6 user usually holds a whole prefix (a /56 or /64 from the ISP,
 * RFC 6177), and can pick a fresh address from it per request; keying by the full address
 * would give every request a fresh rate limit. So IPv6 addresses are grouped by prefix, while
 * IPv4 addresses (including IPv4-mapped IPv6, which is unmapped first) are never grouped.
 */
import ipaddr from 'ipaddr.js';
import { type Validator, validatorFor } from '../validate.js';
import { formatIp, formatIpv6, type IpAddress, parseIp } from './ip-address.js';

/** The key of a request whose client address cannot be determined at all. */
export const UNKNOWN_CLIENT_KEY = 'unknown';

/** Default IPv6 grouping prefix length, in bits. */
export const DEFAULT_IPV6_SUBNET = 56;

/**
 * A stable key for a client address: IPv4 as a dotted quad (`203.0.113.7`), IPv6 masked to
 * `ipv6Subnet` bits as `network/prefix` (`2001:db8:ab00::/56`), or the full address when
 * `ipv6Subnet` is 128. Accepts IPv4-mapped IPv6 (keyed as the IPv4 address) and zone ids
 * (dropped).
 *
 * Returns `undefined` when `address` is not an IP address, so a caller cannot silently turn a
 * header value or an empty string into a shared key: decide what that case means (for example
 * `ipKey(ip) ?? UNKNOWN_CLIENT_KEY`).
 *
 * @param ipv6Subnet IPv6 prefix length in bits: 32–64, or 128 to turn grouping off. @default 56
 */
export function ipKey(
  address: string,
  ipv6Subnet: number = DEFAULT_IPV6_SUBNET,
): string | undefined {
  if (ipv6Subnet !== DEFAULT_IPV6_SUBNET) checkIpv6Subnet(validatorFor('ipKey'), ipv6Subnet);
  const ip = parseIp(address);
  return ip === undefined ? undefined : keyOfIp(ip, ipv6Subnet);
}

/** Validate an `ipv6Subnet` option: an integer in 32–64, or 128. */
export function checkIpv6Subnet(v: Validator, value: unknown): number {
  if (value === undefined) return DEFAULT_IPV6_SUBNET;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    ((value < 32 || value > 64) && value !== 128)
  ) {
    throw v.fail(
      'ipv6Subnet',
      value,
      'an integer between 32 and 64 (IPv6 prefix length in bits), or 128 to turn grouping off',
    );
  }
  return value;
}

/** {@link ipKey} for an address that is already parsed (and unmapped). */
export function keyOfIp(ip: IpAddress, ipv6Subnet: number): string {
  if (ip instanceof ipaddr.IPv4 || ipv6Subnet === 128) return formatIp(ip);
  const parts = ip.parts.slice();
  for (let i = 0; i < 8; i++) {
    const keep = Math.min(Math.max(ipv6Subnet - i * 16, 0), 16);
    parts[i] = parts[i]! & ((0xffff << (16 - keep)) & 0xffff);
  }
  return `${formatIpv6(parts)}/${ipv6Subnet}`;
}
