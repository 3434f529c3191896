/**
 * The `trustProxy` option, compiled once at construction into what the per-request walk needs.
 * Semantics follow Express's `trust proxy` (the `proxy-addr` package): `false` trusts nobody,
 * `true` everybody, a number `n` the `n` nearest hops, a list of addresses/CIDR ranges exactly
 * those peers, with the same three presets.
 */
import ipaddr from 'ipaddr.js';
import type { Validator } from '../validate.js';
import { type IpAddress, isIpv4Mapped, parseIpKeepMapped } from './ip-address.js';

/** Named ranges, as Express's `trust proxy` knows them. */
export type TrustProxyPreset = 'loopback' | 'linklocal' | 'uniquelocal';

/**
 * Which peers are trusted proxies: `false` (nobody), `true` (every hop), a hop count `n >= 1`,
 * or IP addresses, CIDR ranges (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`) and presets, as a list or
 * one comma-separated string (`'loopback, 10.0.0.0/8'`).
 */
export type TrustProxy = boolean | number | string | readonly string[];

export const TRUST_PROXY_PRESETS: Readonly<Record<TrustProxyPreset, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

export type CompiledTrust =
  | { readonly kind: 'none' }
  | { readonly kind: 'all' }
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'list'; readonly matches: (ip: IpAddress) => boolean };

type Range<T> = [T, number];

const LIST_ALLOWED =
  'an IP address, a CIDR range (e.g. "10.0.0.0/8") or one of the presets "loopback", "linklocal", "uniquelocal"';
const ALLOWED =
  'false, true, a hop count >= 1, or a list of IP addresses, CIDR ranges and the presets "loopback", "linklocal", "uniquelocal"';

/** Validate and compile `trustProxy`; throws a {@link KeelOptionError} naming the option. */
export function compileTrustProxy(value: unknown, v: Validator): CompiledTrust {
  if (value === undefined || value === false) return { kind: 'none' };
  if (value === true) return { kind: 'all' };
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw v.fail(
        'trustProxy',
        value,
        `a hop count >= 1 (use false to trust no proxy, or a list of addresses)`,
      );
    }
    return { kind: 'hops', hops: value };
  }
  let entries: readonly unknown[];
  if (typeof value === 'string') entries = [value];
  else if (Array.isArray(value)) entries = value;
  else throw v.fail('trustProxy', value, ALLOWED);

  const v4: Range<ipaddr.IPv4>[] = [];
  const v6: Range<ipaddr.IPv6>[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string')
      throw v.fail('trustProxy', entry, `${LIST_ALLOWED} in every entry`);
    // Express splits a string on commas; accept that inside list entries too.
    for (const item of entry.split(',')) {
      const text = item.trim();
      if (text === '') continue;
      const preset = Object.hasOwn(TRUST_PROXY_PRESETS, text)
        ? TRUST_PROXY_PRESETS[text as TrustProxyPreset]
        : [text];
      for (const cidr of preset) {
        if (!addRange(cidr, v4, v6)) {
          const hint = /^\d+$/.test(text) ? ` (for a hop count pass the number ${text})` : '';
          throw v.fail('trustProxy', text, `${LIST_ALLOWED} in every entry${hint}`);
        }
      }
    }
  }
  if (v4.length === 0 && v6.length === 0) return { kind: 'none' };
  return { kind: 'list', matches: rangeMatcher(v4, v6) };
}

const PREFIX = /^\d{1,3}$/;

/** Parse `address[/prefix-or-netmask]` into the right list. False when it is not valid. */
function addRange(text: string, v4: Range<ipaddr.IPv4>[], v6: Range<ipaddr.IPv6>[]): boolean {
  const slash = text.indexOf('/');
  const ip = parseIpKeepMapped(slash < 0 ? text : text.slice(0, slash));
  if (ip === undefined || text.includes('%')) return false;
  const suffix = slash < 0 ? undefined : text.slice(slash + 1);

  if (ip instanceof ipaddr.IPv4) {
    const bits = suffix === undefined ? 32 : ipv4PrefixLength(suffix);
    if (bits === undefined) return false;
    v4.push([ip, bits]);
    return true;
  }
  const bits = suffix === undefined ? 128 : PREFIX.test(suffix) ? Number(suffix) : 129;
  if (bits > 128) return false;
  if (isIpv4Mapped(ip) && bits >= 96) {
    // Client addresses are unmapped before matching, so `::ffff:10.0.0.0/104` means 10.0.0.0/8.
    const [hi, lo] = [ip.parts[6]!, ip.parts[7]!];
    v4.push([new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]), bits - 96]);
  } else {
    v6.push([ip, bits]);
    // A range this wide (`::/0`, `::ffff:0:0/96`) contains all of ::ffff:0:0/96; as in
    // proxy-addr, IPv4 clients (seen mapped by a dual-stack socket) fall into it.
    if (bits <= 96 && MAPPED_ANY.match(ip, bits)) v4.push([new ipaddr.IPv4([0, 0, 0, 0]), 0]);
  }
  return true;
}

const MAPPED_ANY = new ipaddr.IPv6([0, 0, 0, 0, 0, 0xffff, 0, 0]);

/** `/24` or `/255.255.255.0` → 24; undefined when neither a valid length nor a contiguous mask. */
function ipv4PrefixLength(suffix: string): number | undefined {
  if (PREFIX.test(suffix)) {
    const bits = Number(suffix);
    return bits <= 32 ? bits : undefined;
  }
  const mask = parseIpKeepMapped(suffix);
  if (!(mask instanceof ipaddr.IPv4)) return undefined;
  return mask.prefixLengthFromSubnetMask() ?? undefined;
}

function rangeMatcher(
  v4: readonly Range<ipaddr.IPv4>[],
  v6: readonly Range<ipaddr.IPv6>[],
): (ip: IpAddress) => boolean {
  return (ip) => {
    if (ip instanceof ipaddr.IPv4) {
      for (const range of v4) if (ip.match(range)) return true;
    } else {
      for (const range of v6) if (ip.match(range)) return true;
    }
    return false;
  };
}
