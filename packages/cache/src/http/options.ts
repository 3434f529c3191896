/**
 * `responseCache()` options: what a route may set, validated once at construction into the
 * `RouteConfig` every request then reads. An invalid option throws `KEEL_ERR_INVALID_OPTION`
 * naming it and saying what to change.
 */
import {
  type ClientIdentity,
  type ClientIdentityOptions,
  createClientIdentity,
  type KeelEvents,
  KeelOptionError,
  type KeelRequest,
  optionNames,
  validatorFor,
} from '@keel/core';
import { type Cache, isCache } from '../cache.js';
import { DEFAULT_STORED_HEADERS } from './headers.js';
import { type CookieRules, cookieRules, type KeyRules } from './key.js';

/** Statuses stored by default (RFC 9110 §15.1 "heuristically cacheable", minus the rare ones). */
export const DEFAULT_CACHEABLE_STATUSES: readonly number[] = [200, 203, 204, 300, 301, 404, 410];

/** What to do with requests that carry `Authorization` or a cookie the route does not ignore. */
export type CredentialsMode = 'bypass' | 'partition' | 'share';

export interface ResponseCacheOptions<Raw = unknown> {
  /**
   * The cache to store in, shared with `cache.wrap()` and `cache.invalidate()`. Create one per
   * application with `createCache({ client })`. @default a private in-memory cache
   */
  cache?: Cache;
  /** Freshness of stored responses, ms. @default 60_000 */
  ttlMs?: number;
  /**
   * Take freshness from the response's `s-maxage` / `max-age` / `Expires` (and RFC 5861
   * `stale-while-revalidate` / `stale-if-error`) when it has them; `ttlMs` otherwise.
   * `no-store`, `private` and `no-cache` are honoured either way. @default false
   */
  respectCacheControl?: boolean;
  /** After `ttlMs`, serve the stale response this long while one background request refreshes it, ms. @default 0 */
  staleWhileRevalidateMs?: number;
  /** After `ttlMs`, serve the stale response this long when the handler fails (5xx, throws) or times out, ms. @default 0 */
  staleIfErrorMs?: number;
  /**
   * With a stale response at hand (`staleIfErrorMs`), serve it when the handler has not started
   * its response within this many ms. @default no timeout
   */
  originTimeoutMs?: number;
  /** Statuses that may be stored. @default [200, 203, 204, 300, 301, 404, 410] */
  statuses?: readonly number[];
  /**
   * Query parameters in the key: `allow` (only these) and/or `ignore` (never these).
   * @default all, sorted by name (repeated values keep their order)
   */
  query?: { allow?: readonly string[]; ignore?: readonly string[] };
  /**
   * Key on the request's host: `Host`, and `X-Forwarded-Host` / `X-Forwarded-Proto` when the
   * peer is a trusted proxy (`identity`). `false` for a route whose responses are the same on
   * every host name (they then share one entry). @default true
   */
  host?: boolean;
  /**
   * Which peers are trusted proxies, whose `X-Forwarded-Host` / `X-Forwarded-Proto` are keyed
   * on: a `createClientIdentity()` from @keel/core (share the rate limiter's) or its options.
   * Set it as your framework's `trust proxy` (Express) / `app.proxy` (Koa) is set. A request
   * carrying those headers from any other peer is not cached (`detail=untrusted-forwarded`).
   * @default createClientIdentity({}) — trusts no proxy
   */
  identity?: ClientIdentity | ClientIdentityOptions;
  /** Request headers always part of the key (besides those the response's `Vary` names). @default [] */
  varyHeaders?: readonly string[];
  /**
   * A partition of the key (tenant, locale, user…). Return `undefined` for "no partition". With
   * `credentials: 'partition'`, credentialed requests are cached only when it returns a value.
   */
  partition?: (req: KeelRequest<Raw>) => string | undefined;
  /**
   * Requests with `Authorization` or a cookie not in `ignoreCookies`: `bypass` the cache
   * (default), cache them per `partition` (which must then identify the user; `private`
   * responses are stored too), or `share` them (RFC 9111 §3.5 then still requires `public`,
   * `s-maxage` or `must-revalidate`). @default 'bypass'
   */
  credentials?: CredentialsMode;
  /**
   * Cookies that identify nobody (analytics, consent, theme): a request carrying only these is
   * anonymous. Exact names (case-sensitive), or prefixes ending in `*` (`'_ga*'`). Any other
   * cookie makes the request credentialed, whatever its name. @default []
   */
  ignoreCookies?: readonly string[];
  /** Tags of stored responses, for `cache.invalidate({ tags })`. @default [] */
  tags?: readonly string[] | ((req: KeelRequest<Raw>) => readonly string[]);
  /** Response headers stored besides the defaults (Content-Type, Cache-Control, ETag, Vary…). @default [] */
  storeHeaders?: readonly string[];
  /** Largest body stored, bytes; larger responses are sent but not stored. @default 1_048_576 */
  maxBodyBytes?: number;
  /** How long a response found uncacheable makes its key skip the cache ("hit-for-miss"), ms. @default 10_000 */
  hitForMissMs?: number;
  /**
   * A successful (2xx/3xx) POST, PUT, PATCH or DELETE invalidates every cached variant of its
   * path (entries are tagged by path). @default false
   */
  invalidateOnUnsafe?: boolean;
  /** The cache's name in `Cache-Status`, or `false` to send none. @default 'keel' */
  cacheStatus?: string | false;
  /** Add a strong `ETag` to stored responses that have none. @default true */
  etag?: boolean;
}

/** A route's options, validated. */
export interface RouteConfig<Raw> {
  ttlMs: number;
  swrMs: number;
  sieMs: number;
  originTimeoutMs: number | undefined;
  statuses: ReadonlySet<number>;
  keyRules: KeyRules;
  /** Who is a trusted proxy, when the host is keyed on; `undefined` with `host: false`. */
  identity: ClientIdentity | undefined;
  partition: ((req: KeelRequest<Raw>) => string | undefined) | undefined;
  credentials: CredentialsMode;
  ignoreCookies: CookieRules;
  tags: readonly string[] | ((req: KeelRequest<Raw>) => readonly string[]) | undefined;
  storedHeaders: readonly string[];
  maxBodyBytes: number;
  hitForMissMs: number;
  invalidateOnUnsafe: boolean;
  statusName: string | undefined;
  etag: boolean;
  respectCacheControl: boolean;
}

const KNOWN = optionNames<ResponseCacheOptions>({
  cache: true,
  ttlMs: true,
  respectCacheControl: true,
  staleWhileRevalidateMs: true,
  staleIfErrorMs: true,
  originTimeoutMs: true,
  statuses: true,
  query: true,
  host: true,
  identity: true,
  varyHeaders: true,
  partition: true,
  credentials: true,
  ignoreCookies: true,
  tags: true,
  storeHeaders: true,
  maxBodyBytes: true,
  hitForMissMs: true,
  invalidateOnUnsafe: true,
  cacheStatus: true,
  etag: true,
});
const KNOWN_QUERY = optionNames<NonNullable<ResponseCacheOptions['query']>>({
  allow: true,
  ignore: true,
});

type V = ReturnType<typeof validatorFor>;

/** The cache a route stores in: the given one, after checking it is one. */
export function routeCache(options: ResponseCacheOptions<never>): Cache | undefined {
  const v = validatorFor('responseCache');
  if ('sessionCookies' in options) {
    // Retired in favour of the safe default; say what to write instead of "unknown option".
    throw new KeelOptionError(
      'responseCache.sessionCookies',
      'responseCache: option "sessionCookies" is gone: every cookie now marks a request as credentialed, whatever its name. Remove it, and list the cookies that identify nobody (analytics, consent) in "ignoreCookies"',
    );
  }
  v.knownOptions(options, KNOWN);
  if (options.cache !== undefined && !isCache(options.cache)) {
    throw v.fail('cache', options.cache, 'a cache from createCache()');
  }
  return options.cache;
}

/** Validate a route's options (after {@link routeCache}); `events` receive identity warnings. */
export function parseRouteOptions<Raw>(
  options: ResponseCacheOptions<Raw>,
  events: KeelEvents,
): RouteConfig<Raw> {
  const v = validatorFor('responseCache');
  if (options.query !== undefined)
    validatorFor('responseCache.query').knownOptions(options.query, KNOWN_QUERY);
  const partition = v.optionalFunc<(req: KeelRequest<Raw>) => string | undefined>(
    'partition',
    options.partition,
  );
  const credentials = v.oneOf(
    'credentials',
    options.credentials,
    ['bypass', 'partition', 'share'],
    'bypass',
  );
  if (credentials === 'partition' && !partition) {
    throw v.fail('partition', partition, "a function when credentials is 'partition'");
  }
  const tags = options.tags;
  if (tags !== undefined && typeof tags !== 'function') strings(v, 'tags', tags);
  return {
    ...parseTimes(v, options),
    statuses: new Set(numbers(v, 'statuses', options.statuses, DEFAULT_CACHEABLE_STATUSES)),
    keyRules: {
      allow: options.query?.allow ? strings(v, 'query.allow', options.query.allow) : undefined,
      ignore: strings(v, 'query.ignore', options.query?.ignore ?? []),
      headers: strings(v, 'varyHeaders', options.varyHeaders ?? [])
        .map((h) => h.toLowerCase())
        .sort(),
    },
    identity: v.boolean('host', options.host, true) ? identityOf(v, options, events) : undefined,
    partition,
    credentials,
    ignoreCookies: cookieRules(cookieNames(v, options.ignoreCookies ?? [])),
    tags,
    storedHeaders: [
      ...DEFAULT_STORED_HEADERS,
      ...strings(v, 'storeHeaders', options.storeHeaders ?? []).map((h) => h.toLowerCase()),
    ],
    maxBodyBytes: v.positiveInteger('maxBodyBytes', options.maxBodyBytes, 1_048_576, 'bytes'),
    hitForMissMs: v.positiveInteger('hitForMissMs', options.hitForMissMs, 10_000, 'ms'),
    invalidateOnUnsafe: v.boolean('invalidateOnUnsafe', options.invalidateOnUnsafe, false),
    statusName:
      options.cacheStatus === false
        ? undefined
        : v.string('cacheStatus', options.cacheStatus, 'keel', {
            test: /^[A-Za-z][A-Za-z0-9_.:/-]*$/,
            allowed: 'a token (letters, digits, _.:/-) or false',
          }),
    etag: v.boolean('etag', options.etag, true),
    respectCacheControl: v.boolean('respectCacheControl', options.respectCacheControl, false),
  };
}

function parseTimes(
  v: V,
  options: ResponseCacheOptions<never>,
): Pick<RouteConfig<never>, 'ttlMs' | 'swrMs' | 'sieMs' | 'originTimeoutMs'> {
  return {
    ttlMs: v.positiveInteger('ttlMs', options.ttlMs, 60_000, 'ms'),
    swrMs: v.nonNegativeInteger('staleWhileRevalidateMs', options.staleWhileRevalidateMs, 0, 'ms'),
    sieMs: v.nonNegativeInteger('staleIfErrorMs', options.staleIfErrorMs, 0, 'ms'),
    originTimeoutMs:
      options.originTimeoutMs === undefined
        ? undefined
        : v.positiveInteger('originTimeoutMs', options.originTimeoutMs, undefined, 'ms'),
  };
}

/** A ready identity (anything with `trustsPeer`), or options for core's. */
function identityOf(
  v: V,
  options: ResponseCacheOptions<never>,
  events: KeelEvents,
): ClientIdentity {
  const given = options.identity;
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw v.fail('identity', given, 'a createClientIdentity() or its options ({ trustProxy })');
  }
  if (given && typeof (given as ClientIdentity).trustsPeer === 'function') {
    return given as ClientIdentity;
  }
  if (given && typeof (given as ClientIdentity).key === 'function') {
    throw v.fail('identity', given, 'a createClientIdentity() from this version of @keel/core');
  }
  return createClientIdentity({ events, ...(given as ClientIdentityOptions | undefined) });
}

/** RFC 6265 cookie names (tokens), a trailing `*` making a prefix. */
const COOKIE_NAME = /^[!#$%&'+\-.^_`|~0-9A-Za-z]+\*?$|^\*$/;

function cookieNames(v: V, value: unknown): string[] {
  const names = strings(v, 'ignoreCookies', value);
  for (const name of names) {
    if (!COOKIE_NAME.test(name)) {
      throw v.fail(
        'ignoreCookies',
        name,
        'a cookie name (no spaces, commas, semicolons or "="), or a prefix ending in "*", in every entry',
      );
    }
  }
  return names;
}

function numbers(v: V, option: string, value: unknown, fallback: readonly number[]): number[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || !value.every((n) => Number.isInteger(n) && n >= 100 && n <= 599)) {
    throw v.fail(option, value, 'an array of HTTP status codes');
  }
  return [...value];
}

function strings(v: V, option: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string' && s.length > 0)) {
    throw v.fail(option, value, 'an array of non-empty strings');
  }
  return [...value];
}
