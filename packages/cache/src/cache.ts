/**
 * `createCache()`: the cache object. Data-level cache-aside (`wrap`, `get`, `set`, `delete`),
 * tag invalidation, counters, and the store/L1/lock/bus that `responseCache()` middlewares
 * built on it share.
 */
import {
  type AnyRedisClient,
  type CircuitBreakerOptions,
  type Clock,
  createWarnings,
  DEFAULT_PREFIX,
  exactCopy,
  exactUtf8,
  hashKeyPart,
  type KeelEventListener,
  type KeelEvents,
  type RedisStoreOptions,
  setupRedisStore,
  toEvents,
  validatePrefix,
  validatorFor,
  type WarningSwitches,
} from '@keel/core';
import { createLock, type LockManager } from '@keel/lock';
import { createInvalidationBus, type InvalidationBus } from './bus.js';
import { CacheEngine, type Counters, NO_VARIANT, storeFailureReason, TIMED_OUT } from './engine.js';
import { type CachedEntry, type EntryMeta, freshness } from './entry.js';
import { CacheKeyError, CacheTagError, CacheValueError } from './errors.js';
import { L1, type L1Options } from './l1.js';
import { createMemoryCacheStore, type MemoryCacheStoreOptions } from './stores/memory.js';
import { createRedisCacheStore } from './stores/redis.js';
import type { CacheStore, EntryRef } from './types.js';
import { VERSION } from './version.js';

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

/** A snapshot of the counters. */
export interface CacheStats extends Counters {
  /** (hits + stale) / (hits + stale + misses); 0 before any lookup. */
  hitRatio: number;
}

export interface Cache {
  /** `memory` or `redis`. */
  readonly kind: CacheStore['kind'];
  /**
   * Cache-aside: the cached value of `key`, or `loader()`'s, stored for next time. Concurrent
   * misses share one loader call (across instances too, on Redis); a loader error reaches
   * every waiter at once (or they get the stale value). `undefined` is never stored.
   */
  wrap<T>(key: string, loader: () => T | Promise<T>, options?: WrapOptions): Promise<T>;
  /** The fresh value of `key`, or `undefined` (misses and store failures alike). */
  get<T = unknown>(key: string, options?: Pick<WrapOptions, 'tags'>): Promise<T | undefined>;
  /** Write-through: store `value` now, replacing any copy (on every instance's L1 too). Rejects when the store fails. */
  set(key: string, value: unknown, options?: SetOptions): Promise<void>;
  /** Delete-on-update: drop `key` everywhere. Rejects when the store fails. */
  delete(key: string): Promise<void>;
  /**
   * Drop every entry carrying one of `tags` (data and HTTP), and the data `keys`. Once it
   * resolves, no store read anywhere serves them again; L1s follow through pub/sub. Rejects
   * when the store fails (retry it: the invalidation may be partial).
   */
  invalidate(target: { tags?: readonly string[]; keys?: readonly string[] }): Promise<void>;
  /** Counters since creation (or the last `resetStats`). */
  stats(): CacheStats;
  resetStats(): void;
  /** Resolves once the L1's invalidation bus is subscribed and in sync (at once without an L1). */
  ready(): Promise<void>;
  /** Stop the bus subscriber. Does not close the client you passed. */
  close(): Promise<void>;
}

const KNOWN = [
  'client',
  'prefix',
  'deadlineMs',
  'breaker',
  'l1',
  'memory',
  'ttlMs',
  'staleWhileRevalidateMs',
  'staleIfErrorMs',
  'maxTtlMs',
  'tombstoneMs',
  'lock',
  'waitMs',
  'failedFillMs',
  'events',
  'warnings',
  'clock',
  'clockForTests',
] as const;
const KNOWN_WRAP = ['ttlMs', 'tags', 'staleWhileRevalidateMs', 'staleIfErrorMs', 'timeoutMs'];

const ENGINE: unique symbol = Symbol.for('keel.cache.engine');

/** The engine behind a cache, for `responseCache()` (not part of the public API). */
export function engineOf(cache: Cache): CacheEngine {
  const engine = (cache as unknown as { [ENGINE]?: CacheEngine })[ENGINE];
  if (!engine) throw new TypeError('not a cache created by createCache()');
  return engine;
}

/** True for a cache built by `createCache()` (even from a second copy of this package). */
export function isCache(value: unknown): value is Cache {
  return typeof value === 'object' && value !== null && ENGINE in value;
}

interface Defaults {
  ttlMs: number;
  swrMs: number;
  sieMs: number;
}

/** Build a cache on Redis (`client`) or in memory. */
export function createCache(options: CacheOptions = {}): Cache {
  const v = validatorFor('createCache');
  v.knownOptions(options, KNOWN);
  const events = toEvents(options.events);
  const warnings = createWarnings({ switches: options.warnings, events });
  const clock = v.func<Clock>('clock', options.clock, Date.now);
  const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX, 'createCache.prefix');
  const deadlineMs = v.positiveInteger('deadlineMs', options.deadlineMs, 200, 'ms');
  const defaults: Defaults = {
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
  const { client } = options;

  let store: CacheStore;
  let l1: L1 | undefined;
  let bus: InvalidationBus | undefined;
  let lock: LockManager | undefined;
  if (client !== undefined) {
    if (options.memory !== undefined) throw v.fail('memory', options.memory, 'unset with a client');
    const redis = redisParts(options, { prefix, deadlineMs, events });
    store = createRedisCacheStore({ ...redis, prefix, limits, clock: clockForTests });
    if (options.l1 !== undefined && options.l1 !== false) {
      l1 = new L1(clock, parseL1(v, options.l1));
      bus = createInvalidationBus({ ...redis, prefix, l1, events, warnings });
    }
    if (options.lock !== false) {
      const lockOptions = options.lock ?? {};
      v.knownOptions(lockOptions, ['ttlMs']);
      lock = createLock({
        client: redis.client,
        prefix,
        deadlineMs,
        ttlMs: v.positiveInteger('lock.ttlMs', lockOptions.ttlMs, 10_000, 'ms'),
        events,
        // The fill lock only collapses stampedes: one lost to eviction costs a second origin
        // call, never a wrong answer, so the lock's eviction warning does not apply to it
        // (core still warns for the application's own locks).
        warnings: withSwitch(options.warnings, 'evictionPolicy', false),
      });
    }
    if (redis.client.offlineQueue) {
      warnings.warn(
        'clientQueuesCommands',
        'createCache: the Redis client queues commands while disconnected (enableOfflineQueue); the cache still bypasses Redis after deadlineMs, but queued commands run late. createRedisClient() from @keel/core turns it off.',
      );
    }
  } else {
    if (options.l1 !== undefined && options.l1 !== false) {
      throw v.fail(
        'l1',
        options.l1,
        'false without a client (the memory store is already in process)',
      );
    }
    store = createMemoryCacheStore(clock, limits, options.memory);
  }

  const engine = new CacheEngine({
    store,
    l1,
    bus,
    lock,
    waitMs,
    failedFillMs,
    events,
    warnings,
    clock,
  });
  const wrapValidator = validatorFor('cache.wrap');

  function resolve(opts: WrapOptions | undefined) {
    wrapValidator.knownOptions(opts, KNOWN_WRAP);
    const o = opts ?? {};
    return {
      ttlMs: wrapValidator.positiveInteger('ttlMs', o.ttlMs, defaults.ttlMs, 'ms'),
      swrMs: wrapValidator.nonNegativeInteger(
        'staleWhileRevalidateMs',
        o.staleWhileRevalidateMs,
        defaults.swrMs,
        'ms',
      ),
      sieMs: wrapValidator.nonNegativeInteger(
        'staleIfErrorMs',
        o.staleIfErrorMs,
        defaults.sieMs,
        'ms',
      ),
      timeoutMs:
        o.timeoutMs === undefined
          ? undefined
          : wrapValidator.positiveInteger('timeoutMs', o.timeoutMs, undefined, 'ms'),
      tags: checkTags(o.tags),
    };
  }

  const dataId = (key: string) => {
    if (typeof key !== 'string' || key.length === 0) {
      throw new CacheKeyError(typeof key === 'string' ? '""' : typeof key);
    }
    return hashKeyPart(`d\n${key}`);
  };

  type Resolved = ReturnType<typeof resolve>;

  /** Load, store in the background (keeping the flight until stored), and settle the flight. */
  async function fillData<T>(
    key: string,
    ref: EntryRef,
    gen: string,
    loader: () => T | Promise<T>,
    opts: Resolved,
    stale: CachedEntry | undefined,
    mode: 'wait' | 'skip',
  ): Promise<{ value: T; done: Promise<unknown> } | undefined> {
    const gate = await engine.gate(ref, NO_VARIANT, opts.tags, mode);
    if (gate.kind === 'busy') return undefined;
    if (gate.kind === 'found') {
      engine.counters.collapsed++;
      return { value: decodeValue(gate.found.entry) as T, done: Promise.resolve() };
    }
    if (gate.kind === 'failed') {
      if (stale)
        return { value: serveStale(ref, stale, 'stale-if-error') as T, done: Promise.resolve() };
    }
    const lock = gate.kind === 'lead' ? gate.lock : undefined;
    const sequence = engine.sequence;
    const tagged = await engine.ensureTags(opts.tags);
    const versions = 'versions' in tagged ? tagged.versions : undefined;
    const writeEncoded = async (encoded: Encoded | undefined): Promise<void> => {
      try {
        if (!encoded || versions === undefined) return;
        const meta: EntryMeta = {
          k: 'd',
          ttl: opts.ttlMs,
          swr: opts.swrMs,
          sie: opts.sieMs,
          c: encoded.codec,
          ...(opts.tags.length > 0 ? { tg: versions } : {}),
        };
        await engine.write(ref, gen, meta, encoded.body, sequence);
      } finally {
        engine.release(lock);
      }
    };
    let value: T;
    try {
      const loading = Promise.resolve().then(loader);
      if (stale && opts.timeoutMs !== undefined) {
        const raced = await raceTimeout(loading, opts.timeoutMs);
        if (raced === TIMED_OUT) {
          // Serve stale now; the loader goes on and refreshes the entry when it finishes.
          const done = loading.then(
            (late) => writeEncoded(tryEncode(key, late)),
            () => engine.release(lock),
          );
          return { value: serveStale(ref, stale, 'stale-if-error') as T, done };
        }
        value = raced;
      } else {
        value = await loading;
      }
    } catch (error) {
      engine.release(lock);
      void engine.mark(ref, 'failed');
      if (stale)
        return { value: serveStale(ref, stale, 'stale-if-error') as T, done: Promise.resolve() };
      throw error;
    }
    // An encoding error reaches the caller; the write itself never rejects.
    let encoded: Encoded | undefined;
    try {
      encoded = value === undefined ? undefined : encodeValue(key, value);
    } catch (error) {
      engine.release(lock);
      throw error;
    }
    return { value, done: writeEncoded(encoded) };
  }

  function serveStale(
    ref: EntryRef,
    entry: CachedEntry,
    reason: 'stale-while-revalidate' | 'stale-if-error',
  ) {
    engine.counters.stale++;
    engine.events.emit('cache.stale', { key: ref.id, reason, ageMs: entry.ageMs });
    return decodeValue(entry);
  }

  /** The flight leader's part: one lookup, then the value (hit, stale, or loaded). */
  async function lead<T>(
    key: string,
    id: string,
    loader: () => T | Promise<T>,
    opts: Resolved,
  ): Promise<{ value: T; done: Promise<unknown> }> {
    const found = await engine.lookup(id, NO_VARIANT, opts.tags);
    let stale: CachedEntry | undefined;
    let gen = '';
    if (found.kind === 'found') {
      const { entry } = found;
      const state = freshness(entry.meta, entry.ageMs);
      if (state.fresh) {
        countHit(found.layer, id, entry.ageMs);
        return { value: decodeValue(entry) as T, done: Promise.resolve() };
      }
      gen = entry.gen;
      if (state.revalidate) {
        // Serve stale now; one refresh (per process: this flight; per cluster: the lock).
        const done = fillData(key, found.ref, gen, loader, opts, undefined, 'skip').then(
          (outcome) => outcome?.done,
          (error: unknown) => {
            engine.events.emit('cache.error', { operation: 'revalidate' }, { error });
          },
        );
        return { value: serveStale(found.ref, entry, 'stale-while-revalidate') as T, done };
      }
      if (state.ifError) stale = entry;
    } else if (found.kind === 'miss') {
      gen = found.gen;
    } else {
      // Store failed (down, full, busy, refused, foreign data): still one loader call per
      // key in this process, nothing written.
      engine.counters.bypasses++;
      engine.events.emit('cache.bypass', { key: id, reason: storeFailureReason(found.error) });
      return { value: await loader(), done: Promise.resolve() };
    }
    engine.counters.misses++;
    engine.events.emit('cache.miss', { key: id, collapsed: false });
    const outcome = await fillData(key, found.ref, gen, loader, opts, stale, 'wait');
    // 'wait' mode always leads or finds: never undefined.
    return outcome ?? { value: (await loader()) as T, done: Promise.resolve() };
  }

  const cache: Cache & { [ENGINE]: CacheEngine } = {
    [ENGINE]: engine,
    kind: store.kind,

    async wrap<T>(key: string, loader: () => T | Promise<T>, options?: WrapOptions): Promise<T> {
      const id = dataId(key);
      if (typeof loader !== 'function') throw wrapValidator.fail('loader', loader, 'a function');
      const opts = resolve(options);
      const inL1 = engine.peek({ id, vary: '', variant: '' }, opts.tags);
      if (inL1 && freshness(inL1.entry.meta, inL1.entry.ageMs).fresh) {
        countHit('l1', id, inL1.entry.ageMs);
        return decodeValue(inL1.entry) as T;
      }
      // One lookup and at most one loader call per key in this process at a time.
      const flightKey = `d\n${id}`;
      const current = engine.flight<T>(flightKey);
      if (current) {
        engine.counters.collapsed++;
        engine.events.emit('cache.miss', { key: id, collapsed: true });
        const result = await engine.waitFlight(current);
        return result === TIMED_OUT ? loader() : result;
      }
      const flight = engine.startFlight<T>(flightKey, id, opts.tags);
      try {
        const { value, done } = await lead(key, id, loader, opts);
        flight.resolve(value);
        // Callers arriving until the write has landed share this flight's value.
        void done.finally(() => engine.endFlight(flightKey, flight as never));
        return value;
      } catch (error) {
        engine.endFlight(flightKey, flight as never);
        flight.reject(error);
        throw error;
      }
    },

    async get<T>(key: string, options?: Pick<WrapOptions, 'tags'>): Promise<T | undefined> {
      const id = dataId(key);
      const tags = checkTags(options?.tags);
      const found = await engine.lookup(id, NO_VARIANT, tags);
      if (found.kind === 'found' && freshness(found.entry.meta, found.entry.ageMs).fresh) {
        countHit(found.layer, id, found.entry.ageMs);
        return decodeValue(found.entry) as T;
      }
      if (found.kind === 'error') {
        engine.counters.bypasses++;
        engine.events.emit('cache.bypass', { key: id, reason: storeFailureReason(found.error) });
      } else {
        engine.counters.misses++;
      }
      return undefined;
    },

    async set(key, value, options) {
      const id = dataId(key);
      const opts = resolve(options);
      if (value === undefined) return cache.delete(key);
      const encoded = encodeValue(key, value);
      // Drop this instance's L1 copy first (the other instances' follow through the bus).
      engine.l1?.invalidate([id], []);
      const sequence = engine.sequence;
      const versions = await engine.store.tagVersions(opts.tags, true);
      const tg: Record<string, string> = {};
      opts.tags.forEach((tag, i) => {
        tg[tag] = versions[i] ?? '';
      });
      const meta: EntryMeta = {
        k: 'd',
        ttl: opts.ttlMs,
        swr: opts.swrMs,
        sie: opts.sieMs,
        c: encoded.codec,
        ...(opts.tags.length > 0 ? { tg } : {}),
      };
      const ref: EntryRef = { id, vary: '', variant: '' };
      const outcome = await engine.store.write(ref, {
        observedGen: '*',
        lifetimeMs: meta.ttl + Math.max(meta.swr, meta.sie),
        meta: JSON.stringify(meta),
        body: encoded.body,
      });
      if (outcome.kind === 'written') {
        engine.l1?.put(
          ref,
          { meta, body: encoded.body, gen: outcome.gen, ageMs: 0 },
          sequence,
          opts.ttlMs,
        );
      }
      await engine.bus?.publish({ k: [id], t: [] });
    },

    async delete(key) {
      await engine.invalidate([dataId(key)], [], []);
    },

    async invalidate(target) {
      const v2 = validatorFor('cache.invalidate');
      v2.knownOptions(target, ['tags', 'keys']);
      const tags = checkTags(target?.tags);
      const keys = target?.keys ?? [];
      if (!Array.isArray(keys)) throw v2.fail('keys', keys, 'an array of keys');
      await engine.invalidate(keys.map(dataId), tags, tags.map(hashKeyPart));
    },

    stats() {
      const c = engine.counters;
      const served = c.hits + c.stale;
      const total = served + c.misses;
      return { ...c, hitRatio: total === 0 ? 0 : served / total };
    },

    resetStats() {
      for (const name of Object.keys(engine.counters) as (keyof Counters)[]) {
        engine.counters[name] = 0;
      }
    },

    ready() {
      return bus?.ready() ?? Promise.resolve();
    },

    async close() {
      await bus?.close();
    },
  };

  function countHit(layer: 'l1' | 'store', id: string, ageMs: number) {
    engine.counters.hits++;
    if (layer === 'l1') engine.counters.l1Hits++;
    if (events.active) events.emit('cache.hit', { key: id, layer, ageMs });
  }

  return cache;
}

/**
 * The client, script runner and guarded store caller, from core's `setupRedisStore` (which
 * validates `client`, `breaker` and `clockForTests`). The cache tolerates any eviction policy —
 * an evicted entry, record or tag version is a miss — so no eviction warning.
 */
function redisParts(
  options: CacheOptions,
  checked: { prefix: string; deadlineMs: number; events: KeelEvents },
) {
  const shared: RedisStoreOptions = {
    client: options.client as AnyRedisClient,
    prefix: checked.prefix,
    deadlineMs: checked.deadlineMs,
    events: checked.events,
    ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
    ...(options.clockForTests === undefined ? {} : { clockForTests: options.clockForTests }),
    ...(options.warnings === undefined ? {} : { warnings: options.warnings }),
  };
  const { client, runner, call } = setupRedisStore(shared, {
    component: 'createCache',
    feature: 'cache',
    short: 'cache',
    version: VERSION,
    defaultDeadlineMs: 200,
    evictionImpact: undefined,
  });
  return { client, runner, call };
}

/** `switches` with one warning turned on or off (`false`, all off, stays all off). */
function withSwitch(
  switches: WarningSwitches | undefined,
  name: string,
  on: boolean,
): WarningSwitches {
  if (typeof switches === 'boolean') return switches ? { [name]: on } : false;
  return { ...(switches ?? {}), [name]: on };
}

function parseL1(v: ReturnType<typeof validatorFor>, option: true | L1Options): L1Options {
  if (option === true) return {};
  if (typeof option !== 'object' || option === null)
    throw v.fail('l1', option, 'true, false or L1 options');
  v.knownOptions(option, ['maxEntries', 'maxBytes', 'ttlMs']);
  return {
    maxEntries: v.positiveInteger('l1.maxEntries', option.maxEntries, 1_000),
    maxBytes: v.positiveInteger('l1.maxBytes', option.maxBytes, 16 * 1024 * 1024, 'bytes'),
    ttlMs: v.positiveInteger('l1.ttlMs', option.ttlMs, 5_000, 'ms'),
  };
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

interface Encoded {
  codec: 'j' | 'b';
  body: Buffer;
}

function tryEncode(key: string, value: unknown): Encoded | undefined {
  try {
    return value === undefined ? undefined : encodeValue(key, value);
  } catch {
    return undefined;
  }
}

/**
 * Bytes stay bytes; anything else is JSON. Either way into memory of their own, of exactly their
 * size: the L1 keeps what it is given, so neither the caller's later writes to its buffer nor a
 * pooled 8 KiB slab behind a small value may come with it.
 */
function encodeValue(key: string, value: unknown): Encoded {
  if (value instanceof Uint8Array) return { codec: 'b', body: exactCopy(value) };
  try {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('JSON cannot represent this value');
    return { codec: 'j', body: exactUtf8(text) };
  } catch (error) {
    throw new CacheValueError(key, error);
  }
}

function decodeValue(entry: CachedEntry): unknown {
  if (entry.meta.c === 'b') return Buffer.from(entry.body);
  return JSON.parse(entry.body.toString('utf8'));
}

async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
