/**
 * One hop of a proxy chain as a header names it, in RFC 7239's `node` syntax
 * (https://www.rfc-editor.org/rfc/rfc7239#section-6), which also covers what proxies put in
 * X-Forwarded-For:
 *
 *   `1.2.3.4`, `1.2.3.4:8080`, `[2001:db8::1]`, `[2001:db8::1]:8080`, `2001:db8::1`
 *
 * A bare IPv6 address without brackets is not valid in `Forwarded`, but it is what
 * `proxy_set_header Forwarded "for=$remote_addr"` produces, and it is unambiguous as a whole
 * address, so it is accepted (never split into address and port).
 *
 * `unknown` and obfuscated identifiers (`_hidden`) are not addresses: they yield `undefined`,
 * like anything malformed, and the caller stops walking the chain there.
 */
import { type IpAddress, parseIp } from './ip-address.js';

/** RFC 7239 `node-port`: a port number or an obfuscated port (`_abc`). */
const NODE_PORT = /^(?:\d{1,5}|_[A-Za-z0-9._-]+)$/;

export function parseNodeAddress(node: string): IpAddress | undefined {
  if (node.charCodeAt(0) === 0x5b /* [ */) {
    const close = node.indexOf(']');
    if (close < 0) return undefined;
    const rest = node.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && NODE_PORT.test(rest.slice(1)))) return undefined;
    const inner = node.slice(1, close);
    // Brackets hold IPv6 only; `[1.2.3.4]` is not a valid node.
    return inner.includes(':') ? parseIp(inner) : undefined;
  }
  const colon = node.indexOf(':');
  if (colon >= 0 && node.indexOf(':', colon + 1) < 0) {
    // Exactly one colon: IPv4 with a port (the host part has no colon, so parses as IPv4 or not at all).
    if (!NODE_PORT.test(node.slice(colon + 1))) return undefined;
    return parseIp(node.slice(0, colon));
  }
  return parseIp(node);
}
