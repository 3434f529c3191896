/**
 * `createCache()` and `wrap`/`set` options: validated once into a `CacheConfig` (and per call
 * into a `WrapConfig`) that the rest of the cache reads. An invalid option throws
 * `KEEL_ERR_INVALID_OPTION` naming it and saying what to change.
 */
import {
  type AnyRedisClient,
  type CircuitBreakerOptions,
  type Clock,
  DEFAULT_PREFIX,
  type KeelEventListener,
  type KeelEvents,
  optionNames,
  validatePrefix,
  validatorFor,
  type WarningSwitches,
} from '@keel/core';
import { CacheTagError } from './errors.js';
import type { L1Options } from './l1.js';
import type { MemoryCacheStoreOptions } from './stores/memory.js';

/** Options of `createCache()`. Without `client`, the cache lives in this process's memory. */
export interface CacheOptions {
  /**
   * An ioredis `Redis` (standalone or Sentinel) or `Cluster`: entries are shared by every
   * instance. `createRedisClient()` from @keel/core picks safe defaults.
   */
  client?: AnyRedisClient;
  /** Global key prefix, without braces. Keys are `<prefix>cache:{…}`, `<prefix>cache-tag:{…}`. @default 'keel:' */
  prefix?: string;
  /**
   * Deadline of each store call, ms. A read that misses it bypasses the cache (the origin
   * answers); a write that misses it is dropped. @default 200
   */
  deadlineMs?: number;
  /** Circuit breaker of the Redis store, or `false`. @default { failureThreshold: 5, openMs: 1000 } */
  breaker?: CircuitBreakerOptions | false;
  /**
   * An in-process L1 in front of Redis (Redis only), kept coherent across instances by Redis
   * pub/sub; `true` for the defaults. See the README for its consistency window.
   * @default false
   */
  l1?: boolean | L1Options;
  /** Bounds of the memory store (no `client`). @default { maxEntries: 10_000, maxBytes: 64 MiB } */
  memory?: MemoryCacheStoreOptions;
  /** Freshness of `wrap`/`set` entries when the call does not say, ms. @default 60_000 */
  ttlMs?: number;
  /** Default stale-while-revalidate window of `wrap`, ms. @default 0 */
  staleWhileRevalidateMs?: number;
  /** Default stale-if-error window of `wrap`, ms. @default 0 */
  staleIfErrorMs?: number;
  /**
   * Longest anything lives in the store, ms: an entry's TTL plus its stale windows is capped
   * to it, and tag versions are kept at least this long. @default 86_400_000 (1 day)
   */
  maxTtlMs?: number;
  /**
   * How long a deleted key blocks writes from fills that read it before the delete, ms (the
   * delete-on-update race). @default 60_000
   */
  tombstoneMs?: number;
  /**
   * Cross-process single flight on @keel/lock (Redis only): one instance fills a missing key
   * while the others wait for its entry. `false` turns it off (in-process single flight remains).
   * @default { ttlMs: 10_000 }
   */
  lock?: false | { ttlMs?: number };
  /**
   * Bound of every wait on another caller's fill (in this process or another), ms. Past it, a
   * waiter runs its own origin call. @default 3_000
   */
  waitMs?: number;
  /** How long a failed fill stops other instances' waiters from retrying the origin in turn, ms. @default 1_000 */
  failedFillMs?: number;
  /** Receives `cache.*` and `store.*` events. */
  events?: KeelEvents | KeelEventListener;
  /** Turn one-time warnings off by name, or all with `false`. @default true */
  warnings?: WarningSwitches;
  /** Clock of the memory store and the L1, ms; `createManualClock()` in tests. @default Date.now */
  clock?: Clock;
  /**
   * Tests only: the Redis scripts take their time from this clock instead of Redis `TIME`, so
   * TTLs can be crossed without sleeping. Never set it in production.
   */
  clockForTests?: Clock;
}

/** Options of one `wrap` call; each defaults to `createCache`'s. */
export interface WrapOptions {
  /** Freshness, ms. */
  ttlMs?: number;
  /** Tags to invalidate the entry by (`cache.invalidate({ tags })`). */
  tags?: readonly string[];
  /** After the TTL, serve the stale value this long while one refresh runs in the background, ms. */
  staleWhileRevalidateMs?: number;
  /** After the TTL, serve the stale value this long when the loader throws or times out, ms. */
  staleIfErrorMs?: number;
  /**
   * With a stale value at hand (`staleIfErrorMs`), serve it when the loader takes longer than
   * this, ms; the loader still finishes and refreshes the entry. @default no timeout
   */
  timeoutMs?: number;
}

/** Options of `set`. */
export type SetOptions = Pick<
  WrapOptions,
  'ttlMs' | 'tags' | 'staleWhileRevalidateMs' | 'staleIfErrorMs'
>;

/** The defaults of `wrap`/`set`, from `createCache`'s options. */
export interface EntryDefaults {
  ttlMs: number;
  swrMs: number;
  sieMs: number;
}

/** `createCache()`'s options, validated (the Redis-only parts are checked where they are built). */
export interface CacheConfig {
  options: CacheOptions;
  clock: Clock;
  prefix: string;
  deadlineMs: number;
  defaults: EntryDefaults;
  limits: { maxTtlMs: number; tombstoneMs: number };
  waitMs: number;
  failedFillMs: number;
  clockForTests: Clock | undefined;
}

/** One `wrap`/`set` call's options, validated, with the cache's defaults filled in. */
export interface WrapConfig extends EntryDefaults {
  timeoutMs: number | undefined;
  tags: string[];
}

const KNOWN = optionNames<CacheOptions>({
  client: true,
  prefix: true,
  deadlineMs: true,
  breaker: true,
  l1: true,
  memory: true,
  ttlMs: true,
  staleWhileRevalidateMs: true,
  staleIfErrorMs: true,
  maxTtlMs: true,
  tombstoneMs: true,
  lock: true,
  waitMs: true,
  failedFillMs: true,
  events: true,
  warnings: true,
  clock: true,
  clockForTests: true,
});
// `set` shares this parser: its options are a subset of `wrap`'s.
const KNOWN_WRAP = optionNames<WrapOptions>({
  ttlMs: true,
  tags: true,
  staleWhileRevalidateMs: true,
  staleIfErrorMs: true,
  timeoutMs: true,
});
const KNOWN_L1 = optionNames<L1Options>({ maxEntries: true, maxBytes: true, ttlMs: true });

/** Validate `createCache()`'s options (those every backend reads). */
export function parseCacheOptions(options: CacheOptions): CacheConfig {
  const v = validatorFor('createCache');
  v.knownOptions(options, KNOWN);
  const clock = v.func<Clock>('clock', options.clock, Date.now);
  const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX, 'createCache.prefix');
  const deadlineMs = v.positiveInteger('deadlineMs', options.deadlineMs, 200, 'ms');
  const defaults: EntryDefaults = {
    ttlMs: v.positiveInteger('ttlMs', options.ttlMs, 60_000, 'ms'),
    swrMs: v.nonNegativeInteger('staleWhileRevalidateMs', options.staleWhileRevalidateMs, 0, 'ms'),
    sieMs: v.nonNegativeInteger('staleIfErrorMs', options.staleIfErrorMs, 0, 'ms'),
  };
  const limits = {
    maxTtlMs: v.positiveInteger('maxTtlMs', options.maxTtlMs, 86_400_000, 'ms'),
    tombstoneMs: v.positiveInteger('tombstoneMs', options.tombstoneMs, 60_000, 'ms'),
  };
  const waitMs = v.positiveInteger('waitMs', options.waitMs, 3_000, 'ms');
  const failedFillMs = v.positiveInteger('failedFillMs', options.failedFillMs, 1_000, 'ms');
  const clockForTests = v.optionalFunc<Clock>('clockForTests', options.clockForTests);
  return {
    ...{ options, clock, prefix, deadlineMs, defaults, limits },
    ...{ waitMs, failedFillMs, clockForTests },
  };
}

const wrapValidator = validatorFor('cache.wrap');

/** Validate one `wrap`/`set` call's options. */
export function parseWrapOptions(
  defaults: EntryDefaults,
  options: WrapOptions | undefined,
): WrapConfig {
  const v = wrapValidator;
  v.knownOptions(options, KNOWN_WRAP);
  const o = options ?? {};
  return {
    ttlMs: v.positiveInteger('ttlMs', o.ttlMs, defaults.ttlMs, 'ms'),
    swrMs: v.nonNegativeInteger(
      'staleWhileRevalidateMs',
      o.staleWhileRevalidateMs,
      defaults.swrMs,
      'ms',
    ),
    sieMs: v.nonNegativeInteger('staleIfErrorMs', o.staleIfErrorMs, defaults.sieMs, 'ms'),
    timeoutMs:
      o.timeoutMs === undefined
        ? undefined
        : v.positiveInteger('timeoutMs', o.timeoutMs, undefined, 'ms'),
    tags: checkTags(o.tags),
  };
}

/** `wrap`'s loader: a function, or the coded error saying so. */
export function checkLoader(loader: unknown): void {
  if (typeof loader !== 'function') throw wrapValidator.fail('loader', loader, 'a function');
}

/** Validate tags: non-empty strings of at most 1,024 characters, deduplicated. */
export function checkTags(tags: unknown): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw new CacheTagError(`a ${typeof tags}, not an array`);
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > 1024) {
      throw new CacheTagError(
        typeof tag === 'string' ? JSON.stringify(tag.slice(0, 40)) : typeof tag,
      );
    }
  }
  return [...new Set(tags as string[])];
}

/** `l1: true` or L1 options, validated. */
export function parseL1(option: true | L1Options): L1Options {
  const v = validatorFor('createCache');
  if (option === true) return {};
  if (typeof option !== 'object' || option === null)
    throw v.fail('l1', option, 'true, false or L1 options');
  v.knownOptions(option, KNOWN_L1);
  return {
    maxEntries: v.positiveInteger('l1.maxEntries', option.maxEntries, 1_000),
    maxBytes: v.positiveInteger('l1.maxBytes', option.maxBytes, 16 * 1024 * 1024, 'bytes'),
    ttlMs: v.positiveInteger('l1.ttlMs', option.ttlMs, 5_000, 'ms'),
  };
}
