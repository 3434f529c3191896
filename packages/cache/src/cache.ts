/**
 * `createCache()`: the cache object. Data-level cache-aside (`wrap`, `get`, `set`, `delete`),
 * tag invalidation, counters, and the store/L1/lock/bus that `responseCache()` middlewares
 * built on it share. Options are parsed once (`cache-options.ts`), the parts built from them
 * (`cache-backend.ts`), and `wrap`'s flights are a unit of their own (`data-flight.ts`).
 */
import { hashKeyPart, optionNames, validatorFor } from '@keel/core';
import { buildEngine } from './cache-backend.js';
import {
  type CacheOptions,
  checkLoader,
  checkTags,
  type EntryDefaults,
  parseCacheOptions,
  parseWrapOptions,
  type SetOptions,
  type WrapOptions,
} from './cache-options.js';
import { DataFlights } from './data-flight.js';
import { type CacheEngine, type Counters, NO_VARIANT, storeFailureReason } from './engine.js';
import { encodeMeta, freshness, lifetimeOf } from './entry.js';
import { CacheKeyError } from './errors.js';
import type { CacheStore, EntryRef } from './types.js';
import { dataMeta, decodeValue, encodeValue } from './value-codec.js';

export type { CacheOptions, SetOptions, WrapOptions } from './cache-options.js';
export { checkTags } from './cache-options.js';

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

const ENGINE: unique symbol = Symbol.for('keel.cache.engine');

/** The engine behind a cache, for `responseCache()` (not part of the public API). */
export function engineOf(cache: Cache): CacheEngine {
  // By the symbol, not `instanceof`: a cache from a second copy of this package works too.
  const engine = ENGINE in cache ? (cache[ENGINE] as CacheEngine | undefined) : undefined;
  if (!engine) throw new TypeError('not a cache created by createCache()');
  return engine;
}

/** True for a cache built by `createCache()` (even from a second copy of this package). */
export function isCache(value: unknown): value is Cache {
  return typeof value === 'object' && value !== null && ENGINE in value;
}

/** Build a cache on Redis (`client`) or in memory. */
export function createCache(options: CacheOptions = {}): Cache {
  const config = parseCacheOptions(options);
  return new KeelCache(buildEngine(config), config.defaults);
}

/** A data key's primary id (kept apart from HTTP primaries by its `d` prefix). */
function dataId(key: string): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new CacheKeyError(typeof key === 'string' ? '""' : typeof key);
  }
  return hashKeyPart(`d\n${key}`);
}

const KNOWN_INVALIDATE = optionNames<Parameters<Cache['invalidate']>[0]>({
  tags: true,
  keys: true,
});

class KeelCache implements Cache {
  readonly [ENGINE]: CacheEngine;
  readonly kind: CacheStore['kind'];
  readonly #defaults: EntryDefaults;
  readonly #flights: DataFlights;

  constructor(engine: CacheEngine, defaults: EntryDefaults) {
    this[ENGINE] = engine;
    this.kind = engine.store.kind;
    this.#defaults = defaults;
    this.#flights = new DataFlights(engine);
  }

  async wrap<T>(key: string, loader: () => T | Promise<T>, options?: WrapOptions): Promise<T> {
    const id = dataId(key);
    checkLoader(loader);
    return this.#flights.wrap(key, id, loader, parseWrapOptions(this.#defaults, options));
  }

  async get<T>(key: string, options?: Pick<WrapOptions, 'tags'>): Promise<T | undefined> {
    const engine = this[ENGINE];
    const id = dataId(key);
    const tags = checkTags(options?.tags);
    const found = await engine.lookup(id, NO_VARIANT, tags);
    if (found.kind === 'found' && freshness(found.entry.meta, found.entry.ageMs).fresh) {
      this.#flights.countHit(found.layer, id, found.entry.ageMs);
      return decodeValue(found.entry) as T;
    }
    if (found.kind === 'error') {
      engine.counters.bypasses++;
      engine.events.emit('cache.bypass', { key: id, reason: storeFailureReason(found.error) });
    } else {
      engine.counters.misses++;
    }
    return undefined;
  }

  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    const engine = this[ENGINE];
    const id = dataId(key);
    const opts = parseWrapOptions(this.#defaults, options);
    if (value === undefined) return this.delete(key);
    const encoded = encodeValue(key, value);
    // Drop this instance's L1 copy first (the other instances' follow through the bus).
    engine.l1?.invalidate([id], []);
    const sequence = engine.sequence;
    const versions = await engine.store.tagVersions(opts.tags, true);
    const tg: Record<string, string> = {};
    opts.tags.forEach((tag, i) => {
      tg[tag] = versions[i] ?? '';
    });
    const meta = dataMeta(opts, encoded, tg);
    const ref: EntryRef = { id, vary: '', variant: '' };
    const outcome = await engine.store.write(ref, {
      observedGen: '*',
      lifetimeMs: lifetimeOf(meta),
      meta: encodeMeta(meta),
      body: encoded.body,
    });
    if (outcome.kind === 'written') {
      const entry = { meta, body: encoded.body, gen: outcome.gen, ageMs: 0 };
      engine.l1?.put(ref, entry, sequence, opts.ttlMs);
    }
    await engine.bus?.publish({ k: [id], t: [] });
  }

  async delete(key: string): Promise<void> {
    await this[ENGINE].invalidate([dataId(key)], [], []);
  }

  async invalidate(target: { tags?: readonly string[]; keys?: readonly string[] }) {
    const v = validatorFor('cache.invalidate');
    v.knownOptions(target, KNOWN_INVALIDATE);
    const tags = checkTags(target?.tags);
    const keys = target?.keys ?? [];
    if (!Array.isArray(keys)) throw v.fail('keys', keys, 'an array of keys');
    await this[ENGINE].invalidate(keys.map(dataId), tags, tags.map(hashKeyPart));
  }

  stats(): CacheStats {
    const c = this[ENGINE].counters;
    const served = c.hits + c.stale;
    const total = served + c.misses;
    return { ...c, hitRatio: total === 0 ? 0 : served / total };
  }

  resetStats(): void {
    const counters = this[ENGINE].counters;
    for (const name of Object.keys(counters) as (keyof Counters)[]) counters[name] = 0;
  }

  ready(): Promise<void> {
    return this[ENGINE].bus?.ready() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this[ENGINE].bus?.close();
  }
}
