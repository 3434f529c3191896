/**
 * The parts a cache runs on, built from its validated options: the store (Redis or memory),
 * and on Redis the optional L1 with its invalidation bus and the cross-process fill lock.
 */
import {
  type AnyRedisClient,
  createWarnings,
  optionNames,
  type RedisStoreOptions,
  setupRedisStore,
  toEvents,
  validatorFor,
  type WarningSwitches,
} from '@keel/core';
import { createLock } from '@keel/lock';
import { createInvalidationBus } from './bus.js';
import { type CacheConfig, type CacheOptions, parseL1 } from './cache-options.js';
import { CacheEngine } from './engine.js';
import { L1 } from './l1.js';
import { createMemoryCacheStore } from './stores/memory.js';
import { createRedisCacheStore } from './stores/redis.js';
import { VERSION } from './version.js';

/** The engine of a cache with these options (events and warnings resolved here). */
export function buildEngine(config: CacheConfig): CacheEngine {
  const { options, clock, limits } = config;
  const events = toEvents(options.events);
  const warnings = createWarnings({ switches: options.warnings, events });
  const common = { waitMs: config.waitMs, failedFillMs: config.failedFillMs, clock };
  const shared = { ...common, maxTtlMs: limits.maxTtlMs, events, warnings };
  if (options.client === undefined) {
    if (options.l1 !== undefined && options.l1 !== false) {
      throw validatorFor('createCache').fail(
        'l1',
        options.l1,
        'false without a client (the memory store is already in process)',
      );
    }
    const store = createMemoryCacheStore(clock, limits, options.memory);
    return new CacheEngine({ ...shared, store, l1: undefined, bus: undefined, lock: undefined });
  }
  if (options.memory !== undefined) {
    throw validatorFor('createCache').fail('memory', options.memory, 'unset with a client');
  }
  const redis = redisParts(config, events);
  const { prefix } = config;
  const store = createRedisCacheStore({ ...redis, prefix, limits, clock: config.clockForTests });
  const l1 =
    options.l1 !== undefined && options.l1 !== false
      ? new L1(clock, parseL1(options.l1))
      : undefined;
  const bus = l1 && createInvalidationBus({ ...redis, prefix, l1, events, warnings });
  const lock =
    options.lock === false ? undefined : fillLock(config, redis.client, events, options.lock ?? {});
  if (redis.client.offlineQueue) {
    warnings.warn(
      'clientQueuesCommands',
      'createCache: the Redis client queues commands while disconnected (enableOfflineQueue); the cache still bypasses Redis after deadlineMs, but queued commands run late. createRedisClient() from @keel/core turns it off.',
    );
  }
  return new CacheEngine({ ...shared, store, l1, bus, lock });
}

const KNOWN_LOCK = optionNames<Exclude<CacheOptions['lock'], false | undefined>>({ ttlMs: true });

/** The cross-process fill lock (`lock` option), on the cache's own client. */
function fillLock(
  config: CacheConfig,
  client: ReturnType<typeof setupRedisStore>['client'],
  events: ReturnType<typeof toEvents>,
  lockOptions: { ttlMs?: number },
) {
  const v = validatorFor('createCache');
  v.knownOptions(lockOptions, KNOWN_LOCK);
  return createLock({
    client,
    prefix: config.prefix,
    deadlineMs: config.deadlineMs,
    ttlMs: v.positiveInteger('lock.ttlMs', lockOptions.ttlMs, 10_000, 'ms'),
    events,
    // The fill lock only collapses stampedes: one lost to eviction costs a second origin
    // call, never a wrong answer, so the lock's eviction warning does not apply to it
    // (core still warns for the application's own locks).
    warnings: withSwitch(config.options.warnings, 'evictionPolicy', false),
  });
}

/**
 * The client, script runner and guarded store caller, from core's `setupRedisStore` (which
 * validates `client`, `breaker` and `clockForTests`). The cache tolerates any eviction policy —
 * an evicted entry, record or tag version is a miss — so no eviction warning.
 */
function redisParts(config: CacheConfig, events: ReturnType<typeof toEvents>) {
  const { options } = config;
  const shared: RedisStoreOptions = {
    client: options.client as AnyRedisClient,
    prefix: config.prefix,
    deadlineMs: config.deadlineMs,
    events,
    breaker: options.breaker,
    clockForTests: options.clockForTests,
    warnings: options.warnings,
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
