/**
 * Who is the client? One answer for every Keel feature (rate limiting keys by it), computed from
 * the TCP peer and, when the peer is a trusted proxy, the proxy chain in `X-Forwarded-For` or
 * RFC 7239 `Forwarded`.
 *
 * The walk follows Express's `trust proxy` (`proxy-addr`): start at the TCP peer, move outward
 * through the header's entries right to left, and stop at the first address that is not
 * trusted: that is the client. When every hop is trusted, the left-most address is the client.
 *
 * Where this deliberately differs from `proxy-addr`:
 * - An entry that is not an address (malformed, `unknown`, an obfuscated `_id`, a `Forwarded`
 *   element without `for`) stops the walk, and the answer is the hop that reported it (the
 *   last address walked). `proxy-addr` would return the malformed text itself, which a client
 *   can choose; the reporting hop is one the walk already reached, and never a string.
 * - Entries may carry ports (`1.2.3.4:80`, `[2001:db8::1]:80`), which some proxies add.
 * - IPv4 must be plain dotted decimal; `127.1` or `0x7f.0.0.1` is malformed, not 127.0.0.1.
 * - IPv4-mapped IPv6 is unmapped and zone ids dropped, for the peer and every entry.
 *
 * A peer without an address (a Unix domain socket) counts as a hop for a hop count and for
 * `true`, but never matches an address list; as in `proxy-addr`.
 */
import type { KeelEvents } from '../events.js';
import type { IncomingHeaders, KeelRequest } from '../http/request.js';
import { optionNames } from '../option-names.js';
import { validatorFor } from '../validate.js';
import { createWarnings, type WarningSwitches, type Warnings } from '../warnings.js';
import { forwardedForChain } from './forwarded.js';
import { formatIp, type IpAddress, parseIp } from './ip-address.js';
import { checkIpv6Subnet, keyOfIp, UNKNOWN_CLIENT_KEY } from './ip-key.js';
import { parseNodeAddress } from './node-address.js';
import { type CompiledTrust, compileTrustProxy, type TrustProxy } from './trusted-proxies.js';
import { xForwardedForChain } from './x-forwarded-for.js';

/** Which request header carries the proxy chain. */
export type ProxyHeader = 'x-forwarded-for' | 'forwarded' | 'both';

export interface ClientIdentityOptions {
  /**
   * Which peers are trusted proxies, whose word about the client is believed:
   * - `false`: none; the TCP peer is the client.
   * - `true`: every hop; the left-most address wins. Any client can then pick its own address
   *   with `X-Forwarded-For`, so this warns once (`trustAllProxies`).
   * - `n >= 1`: the `n` nearest hops, the TCP peer being the first (`1`: one proxy in front).
   * - IP addresses and CIDR ranges (`['10.0.0.0/8', '2001:db8::/32']`, or one comma-separated
   *   string), plus the presets `'loopback'`, `'linklocal'` and `'uniquelocal'` (private
   *   ranges), as Express's `trust proxy` knows them.
   * @default false
   */
  trustProxy?: TrustProxy;
  /**
   * Which header carries the chain: `'x-forwarded-for'`, `'forwarded'` (RFC 7239), or
   * `'both'`: `Forwarded` when the request has one, otherwise `X-Forwarded-For`. Choose
   * `'both'` only if your trusted proxies write (or strip) `Forwarded`: otherwise a client can
   * send its own `Forwarded` and it is preferred over the `X-Forwarded-For` the proxy wrote.
   * @default 'x-forwarded-for'
   */
  proxyHeader?: ProxyHeader;
  /**
   * IPv6 prefix length (bits) that groups addresses into one client, since one IPv6 user
   * usually holds a whole /56 or /64. 32–64, or 128 to key by the full address.
   * IPv4 addresses are never grouped.
   * @default 56
   */
  ipv6Subnet?: number;
  /**
   * Turn one-time warnings off by name (`trustAllProxies`, `untrustedProxyHeaders`,
   * `noClientAddress`), or all with `false`.
   * @default true
   */
  warnings?: WarningSwitches;
  /** Where warnings are emitted as `keel.warning` events (they also go to `console.warn`). */
  events?: KeelEvents;
}

/** The part of a request client identity reads. */
export type ClientIdentityRequest = Pick<KeelRequest, 'headers' | 'remoteAddress'>;

export interface ClientIdentity {
  /**
   * The client's address after walking the trusted proxy chain: a dotted quad or an RFC 5952
   * IPv6 string (IPv4-mapped IPv6 unmapped, zone id dropped), or `undefined` when there is
   * none (no TCP peer address and nothing trusted to say otherwise).
   */
  address(req: ClientIdentityRequest): string | undefined;
  /**
   * A stable key for the client (see {@link ipKey}): IPv4 as a dotted quad, IPv6 masked to
   * `ipv6Subnet` as `2001:db8:ab00::/56`. When no address can be found, the fixed key
   * {@link UNKNOWN_CLIENT_KEY} (`'unknown'`, shared by all such requests) and a one-time
   * `noClientAddress` warning.
   */
  key(req: ClientIdentityRequest): string;
  /**
   * Whether the TCP peer is a trusted proxy, so the headers it writes about the original request
   * (`X-Forwarded-Host`, `X-Forwarded-Proto`) are believed — Express's `trust proxy` rule for
   * `req.hostname` and `req.protocol`. Always false with `trustProxy: false`.
   */
  trustsPeer(req: ClientIdentityRequest): boolean;
}

const KNOWN_OPTIONS = optionNames<ClientIdentityOptions>({
  trustProxy: true,
  proxyHeader: true,
  ipv6Subnet: true,
  warnings: true,
  events: true,
});
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'both'] as const;

/** {@link ClientIdentityOptions} validated and compiled once. */
interface ClientIdentityConfig {
  readonly trust: CompiledTrust;
  readonly proxyHeader: ProxyHeader;
  readonly ipv6Subnet: number;
  readonly warnings: Warnings;
}

function parseClientIdentityOptions(options: ClientIdentityOptions): ClientIdentityConfig {
  const v = validatorFor('clientIdentity');
  v.knownOptions(options, KNOWN_OPTIONS);
  return {
    trust: compileTrustProxy(options.trustProxy, v),
    proxyHeader: v.oneOf('proxyHeader', options.proxyHeader, PROXY_HEADERS, 'x-forwarded-for'),
    ipv6Subnet: checkIpv6Subnet(v, options.ipv6Subnet),
    warnings: createWarnings({ switches: options.warnings, events: options.events }),
  };
}

/**
 * Build the client identity for one configuration. Validates and compiles everything here, so
 * the per-request work is one pass over the headers it needs. Throws a `KeelOptionError`
 * (`clientIdentity.<option>`) for an invalid option.
 */
export function createClientIdentity(options: ClientIdentityOptions = {}): ClientIdentity {
  return new ProxyChainIdentity(parseClientIdentityOptions(options));
}

class ProxyChainIdentity implements ClientIdentity {
  private readonly trust: CompiledTrust;
  private readonly proxyHeader: ProxyHeader;
  private readonly ipv6Subnet: number;
  private readonly warnings: Warnings;
  /** Until the first request with proxy headers and no proxy trusted has been warned about. */
  private checkUntrustedHeaders: boolean;
  // With no proxy trusted the key depends on the peer address alone, and keep-alive clients
  // repeat it on every request: remember recent ones (parsing IPv6 text costs microseconds).
  private readonly peerKeys = new Map<string, string>();

  constructor(config: ClientIdentityConfig) {
    this.trust = config.trust;
    this.proxyHeader = config.proxyHeader;
    this.ipv6Subnet = config.ipv6Subnet;
    this.warnings = config.warnings;
    if (this.trust.kind === 'all') {
      this.warnings.warn(
        'trustAllProxies',
        "clientIdentity: trustProxy is true, so any client can spoof its address with X-Forwarded-For (or Forwarded); set trustProxy to your proxies' addresses or their hop count",
      );
    }
    this.checkUntrustedHeaders =
      this.trust.kind === 'none' && this.warnings.enabled('untrustedProxyHeaders');
  }

  // Arrow properties, as the object this replaced had: callers may pass these around unbound.
  readonly trustsPeer = (req: ClientIdentityRequest): boolean => {
    const trust = this.trust;
    switch (trust.kind) {
      case 'none':
        return false;
      case 'list': {
        const peer = req.remoteAddress === undefined ? undefined : parseIp(req.remoteAddress);
        return peer !== undefined && trust.matches(peer);
      }
      default:
        // A hop count (at least 1: the peer) or every hop.
        return true;
    }
  };

  readonly address = (req: ClientIdentityRequest): string | undefined => {
    const ip = this.clientIp(req);
    return ip === undefined ? undefined : formatIp(ip);
  };

  readonly key = (req: ClientIdentityRequest): string => {
    const peer = req.remoteAddress;
    const memo = this.trust.kind === 'none' && peer !== undefined;
    if (memo && !(this.checkUntrustedHeaders && hasProxyHeader(req.headers))) {
      const known = this.peerKeys.get(peer);
      if (known !== undefined) return known;
    }
    const ip = this.clientIp(req);
    if (ip !== undefined) {
      const key = keyOfIp(ip, this.ipv6Subnet);
      if (memo) {
        if (this.peerKeys.size >= PEER_KEY_MEMO_SIZE) this.peerKeys.clear();
        this.peerKeys.set(peer, key);
      }
      return key;
    }
    this.warnings.warn(
      'noClientAddress',
      `clientIdentity: a request has no client address (no usable TCP peer address, as on a Unix socket or a socket already closed, and no trusted proxy naming one), so it is keyed as "${UNKNOWN_CLIENT_KEY}", shared with every other such request`,
    );
    return UNKNOWN_CLIENT_KEY;
  };

  /** The client's address: the TCP peer, or the hop the trusted proxies name. */
  private clientIp(req: ClientIdentityRequest): IpAddress | undefined {
    const trust = this.trust;
    const peer = req.remoteAddress === undefined ? undefined : parseIp(req.remoteAddress);
    switch (trust.kind) {
      case 'none':
        if (this.checkUntrustedHeaders && hasProxyHeader(req.headers)) this.warnUntrustedHeaders();
        return peer;
      case 'list':
        if (peer === undefined || !trust.matches(peer)) return peer;
        return walk(peer, this.chain(req.headers, Number.POSITIVE_INFINITY), trust);
      case 'hops':
        // The peer is hop 1, so the client is entry n (1-based) of the chain, nearest first.
        return walk(peer, this.chain(req.headers, trust.hops), trust);
      case 'all':
        return walk(peer, this.chain(req.headers, Number.POSITIVE_INFINITY), trust);
    }
  }

  private warnUntrustedHeaders(): void {
    this.checkUntrustedHeaders = false;
    this.warnings.warn(
      'untrustedProxyHeaders',
      'clientIdentity: requests carry X-Forwarded-For or Forwarded, but trustProxy is false, so the TCP peer is taken as the client. Behind a proxy? Set trustProxy to its address or hop count, or every client behind it shares one limit',
    );
  }

  /** The proxy chain, nearest first, from the header(s) `proxyHeader` names. */
  private chain(headers: IncomingHeaders, limit: number): (string | undefined)[] {
    const proxyHeader = this.proxyHeader;
    if (proxyHeader !== 'x-forwarded-for') {
      const forwarded = headerText(headers, 'forwarded');
      if (forwarded !== undefined) {
        const entries = forwardedForChain(forwarded, limit);
        if (entries.length > 0 || proxyHeader === 'forwarded') return entries;
      } else if (proxyHeader === 'forwarded') {
        return [];
      }
    }
    const xff = headerText(headers, 'x-forwarded-for');
    return xff === undefined ? [] : xForwardedForChain(xff, limit);
  }
}

/** Peer addresses remembered by `key()`; the memo is simply cleared when full. */
const PEER_KEY_MEMO_SIZE = 4096;

/**
 * Walk the chain (nearest first) from an already trusted peer. For a list, stop at the first
 * entry outside it; for a hop count the chain is already cut to the right length; for `true`
 * go to the end. A non-address entry stops the walk at the hop that reported it.
 */
function walk(
  peer: IpAddress | undefined,
  entries: readonly (string | undefined)[],
  trust: CompiledTrust,
): IpAddress | undefined {
  let client = peer;
  for (const entry of entries) {
    const ip = entry === undefined ? undefined : parseNodeAddress(entry);
    if (ip === undefined) return client;
    client = ip;
    if (trust.kind === 'list' && !trust.matches(ip)) return ip;
  }
  return client;
}

/** A header's text with repeated lines joined by commas (Node may hand them over as an array). */
function headerText(headers: IncomingHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function hasProxyHeader(headers: IncomingHeaders): boolean {
  return headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined;
}
