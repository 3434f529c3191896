/**
 * What every Redis-backed Keel store shares: its options (client, prefix, deadline, breaker,
 * events, test clock), their validation, and the plumbing built from them — the feature's
 * keyspace, its versioned script runner and the guarded store caller. A feature's store adds
 * only its own options and its script calls.
 */
import type { KeelEventListener, KeelEvents } from '../events.js';
import { toEvents } from '../events.js';
import type { Clock } from '../memory/clock.js';
import { optionNames } from '../option-names.js';
import { assertKnownOptions, type Validator, validatorFor } from '../validate.js';
import type { WarningSwitches } from '../warnings.js';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import { type EvictionImpact, warnOnEvictionPolicy } from './eviction-policy.js';
import { createKeyspace, DEFAULT_PREFIX, type Keyspace, validatePrefix } from './keys.js';
import { createScriptRunner, type ReplicaWait, type ScriptRunner } from './scripts.js';
import {
  type AnyRedisClient,
  isSupportedClient,
  type KeelRedisClient,
  keelClient,
  SUPPORTED_CLIENTS,
} from './seam.js';
import { createStoreCaller, type StoreCaller } from './store-call.js';

/** The options every Redis-backed store of Keel takes. */
export interface RedisStoreOptions {
  /**
   * An ioredis (5, 6) or iovalkey `Redis` (standalone or Sentinel) or `Cluster`, or a node-redis
   * (`redis` ≥ 5) `createClient()` / `createCluster()` client, recognised by its shape;
   * `createRedisClient()` picks safe defaults.
   */
  client: AnyRedisClient;
  /** Global key prefix, without braces. @default 'keel:' */
  prefix?: string | undefined;
  /** Deadline of each store call, ms; what a missed one means is the feature's failure policy. */
  deadlineMs?: number | undefined;
  /** Circuit breaker in front of Redis, or `false` to disable it. @default { failureThreshold: 5, openMs: 1000 } */
  breaker?: CircuitBreakerOptions | false | undefined;
  /** Receives `store.call` (with latency) and `store.circuit` events. */
  events?: KeelEvents | KeelEventListener | undefined;
  /**
   * Tests only: scripts take their time from this clock instead of Redis `TIME`, so a test can
   * move time without sleeping. Never set it in production (application clocks drift).
   * @default undefined (the Redis server clock)
   */
  clockForTests?: Clock | undefined;
  /** Turn one-shot warnings off by name (`{ evictionPolicy: false }`), or all with `false`. */
  warnings?: WarningSwitches | undefined;
  /**
   * Durability: an acknowledged write (the feature's README lists which) counts only once this
   * many replicas confirmed it (`WAIT`, pipelined after the script: same round trip). Short of
   * that, the call fails as an outage and is undone where the feature can. A number, or
   * `{ replicas, timeoutMs }`; the wait never outlasts the call's deadline. While it waits,
   * the connection answers nothing else. @default 0 (acknowledged by the master alone)
   */
  waitForReplicas?: number | { replicas: number; timeoutMs?: number } | undefined;
}

/** The object form of `waitForReplicas`. */
type ReplicaWaitOptions = Exclude<RedisStoreOptions['waitForReplicas'], number | undefined>;

const REPLICA_WAIT_OPTIONS = optionNames<ReplicaWaitOptions>({ replicas: true, timeoutMs: true });

/** Longest `WAIT` for replicas unless `waitForReplicas.timeoutMs` says otherwise, ms. */
export const DEFAULT_REPLICA_TIMEOUT_MS = 100;

/**
 * Validate `waitForReplicas` (see {@link RedisStoreOptions}): undefined when off. For stores
 * that build their plumbing piece by piece instead of through {@link setupRedisStore}.
 */
export function parseWaitForReplicas(
  v: Validator,
  value: unknown,
  deadlineMs: number,
): ReplicaWait | undefined {
  if (value === undefined || value === 0) return undefined;
  const allowed = 'a number of replicas (0-16), or { replicas, timeoutMs }';
  const given: { replicas?: unknown; timeoutMs?: unknown } =
    typeof value === 'number' ? { replicas: value } : (value as object);
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw v.fail('waitForReplicas', value, allowed);
  }
  assertKnownOptions(`${v.component}.waitForReplicas`, given, REPLICA_WAIT_OPTIONS);
  const replicas = v.integerInRange('waitForReplicas.replicas', given.replicas, undefined, 0, 16);
  const timeoutMs = v.integerInRange(
    'waitForReplicas.timeoutMs',
    given.timeoutMs,
    Math.min(DEFAULT_REPLICA_TIMEOUT_MS, deadlineMs),
    1,
    deadlineMs,
    'ms, at most deadlineMs',
  );
  return replicas === 0 ? undefined : { replicas, timeoutMs };
}

/** The option names of {@link RedisStoreOptions}, for `knownOptions` checks. */
export const REDIS_STORE_OPTIONS = optionNames<RedisStoreOptions>({
  client: true,
  prefix: true,
  deadlineMs: true,
  breaker: true,
  events: true,
  clockForTests: true,
  warnings: true,
  waitForReplicas: true,
});

export interface RedisStoreSpec {
  /** Name used in error messages, e.g. `createRedisStore`. */
  component: string;
  /** Feature name for events, e.g. `rate-limit`. */
  feature: string;
  /** Short keyspace name: keys are `<prefix><short>:{…}`, scripts `keel:<short>:<name>:<version>`. */
  short: string;
  /** The feature package's version, part of every script's command name. */
  version: string;
  /** The feature's default deadline, ms. */
  defaultDeadlineMs: number;
  /**
   * What the feature loses when Redis evicts its keys, completing "Redis evicts keys, so …";
   * `undefined` when it tolerates eviction (a cache). Read once, warned once per process.
   */
  evictionImpact: EvictionImpact;
  /**
   * Option names the feature's store accepts besides {@link REDIS_STORE_OPTIONS}; build them
   * with `optionNames<Omit<FeatureOptions, keyof RedisStoreOptions>>({ … })` so the compiler
   * checks the list against the feature's options.
   */
  extraOptions?: readonly string[];
  /** The store-caller operations that are acknowledged writes, which `waitForReplicas` covers. */
  durableOperations?: readonly string[];
  /**
   * The key family that data errors name, when the feature's data keys lie outside its keyspace
   * (sessions sit at connect-redis's `sess:<id>`). @default `<prefix><short>:`
   */
  keyFamily?(client: KeelRedisClient): string;
}

export interface RedisStoreParts {
  /** The client seam over the client passed in (see `seam.ts`). */
  client: KeelRedisClient;
  keyspace: Keyspace;
  runner: ScriptRunner;
  call: StoreCaller;
  events: KeelEvents;
  deadlineMs: number;
  /** The test clock, when one was given. */
  clockForTests: Clock | undefined;
  /** `waitForReplicas`, validated; undefined when off. */
  waitForReplicas: ReplicaWait | undefined;
}

/** Validate the shared options and build the plumbing of one feature's Redis store. */
export function setupRedisStore(options: RedisStoreOptions, spec: RedisStoreSpec): RedisStoreParts {
  const v = validatorFor(spec.component);
  v.knownOptions(options, [...REDIS_STORE_OPTIONS, ...(spec.extraOptions ?? [])]);
  if (!isSupportedClient(options?.client))
    throw v.fail('client', options?.client, SUPPORTED_CLIENTS);
  const client = keelClient(options.client);
  const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX, `${spec.component}.prefix`);
  const deadlineMs = v.positiveInteger(
    'deadlineMs',
    options.deadlineMs,
    spec.defaultDeadlineMs,
    'ms',
  );
  const clockForTests = v.optionalFunc<Clock>('clockForTests', options.clockForTests);
  const waitForReplicas = parseWaitForReplicas(v, options.waitForReplicas, deadlineMs);
  if (waitForReplicas && !spec.durableOperations?.length) {
    throw v.fail(
      'waitForReplicas',
      options.waitForReplicas,
      `left out: ${spec.feature} has no acknowledged writes to confirm (idempotency, sessions and locks have)`,
    );
  }
  const events = toEvents(options.events);
  warnOnEvictionPolicy(client, spec.feature, spec.evictionImpact, events, options.warnings);
  return {
    client,
    keyspace: createKeyspace(prefix, spec.short),
    runner: createScriptRunner(client, `keel:${spec.short}`, spec.version),
    call: createStoreCaller({
      feature: spec.feature,
      deadlineMs,
      client,
      events,
      keyFamily: spec.keyFamily?.(client) ?? `${prefix}${spec.short}:`,
      breaker: options.breaker,
      waitForReplicas,
      durableOperations: spec.durableOperations ?? [],
    }),
    events,
    deadlineMs,
    clockForTests,
    waitForReplicas,
  };
}
