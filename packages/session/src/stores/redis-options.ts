/**
 * The Redis session storage's options, parsed once into one named config: validated, defaults
 * applied, and the plumbing built from them (store caller, script runner, keyspace). See
 * redis.ts for why the storage takes core's plumbing piece by piece instead of
 * `setupRedisStore`.
 */
import {
  type AnyRedisClient,
  type CircuitBreakerOptions,
  createKeyspace,
  createScriptRunner,
  createStoreCaller,
  isSupportedClient,
  type KeelEventListener,
  type KeelEvents,
  type KeelRedisClient,
  type Keyspace,
  keelClient,
  optionNames,
  parseWaitForReplicas,
  type RedisStoreOptions,
  type ScriptRunner,
  type StoreCaller,
  SUPPORTED_CLIENTS,
  toEvents,
  validatePrefix,
  validatorFor,
  type WarningSwitches,
  warnOnEvictionPolicy,
} from '@keel/core';
import { siblingPrefixOf, validateSessionPrefix } from '../keys.js';
import { VERSION } from '../version.js';

export interface RedisSessionStorageOptions {
  /**
   * An ioredis/iovalkey client (standalone, Sentinel or Cluster; its `keyPrefix` is respected)
   * or a node-redis (`redis` ≥ 5) client or cluster.
   */
  client: AnyRedisClient;
  /**
   * Prefix of session keys, as connect-redis names it. A prefix inside `indexPrefix`
   * (`'keel:sess:'`) keeps every session key under one ACL pattern (`~keel:*`). @default 'sess:'
   */
  prefix?: string;
  /** Prefix of Keel's index keys (user index, global index). No braces. @default 'keel:' */
  indexPrefix?: string;
  /** Deadline of every Redis call, ms: past it the call fails with a 503-class error. @default 1000 */
  deadlineMs?: number;
  /** Circuit breaker in front of Redis, or `false`. @default { failureThreshold: 5, openMs: 1000 } */
  breaker?: CircuitBreakerOptions | false;
  /** Receives `store.call` (with latency), `store.circuit`, `keel.warning` events. */
  events?: KeelEvents | KeelEventListener;
  /** Turn one-shot warnings off by name (`{ evictionPolicy: false }`), or all with `false`. @default true */
  warnings?: WarningSwitches;
  /**
   * Saves, merges and destroys count once this many replicas confirmed them (`WAIT`, in the
   * same round trip); short of it the write fails as an outage (503). See `RedisStoreOptions`
   * in @keel/core. @default 0
   */
  waitForReplicas?: RedisStoreOptions['waitForReplicas'];
}

const KNOWN = optionNames<RedisSessionStorageOptions>({
  client: true,
  prefix: true,
  indexPrefix: true,
  deadlineMs: true,
  breaker: true,
  events: true,
  warnings: true,
  waitForReplicas: true,
});

/**
 * The writes a session library is told succeeded: a login (save, merge) and a logout
 * (destroy, whose tombstone keeps the session from coming back).
 */
const DURABLE_OPERATIONS = ['save', 'merge', 'destroy'];

/** What the session feature loses to eviction, for core's once-per-process warning. */
const EVICTION_IMPACT =
  'an evicted session logs its user out and an evicted tombstone lets a logged-out session come back';

/** The validated options and the plumbing built from them. */
export interface RedisSessionConfig {
  client: KeelRedisClient;
  prefix: string;
  /** The ioredis `keyPrefix`, which ioredis adds to keys but not to SCAN patterns. */
  keyPrefix: string;
  /** Where the per-session siblings live (see `siblingPrefixOf`). */
  siblingPrefix: string;
  keyspace: Keyspace;
  call: StoreCaller;
  scripts: ScriptRunner;
}

/** Validate `options` (errors name `redisSessionStorage`), apply the defaults, build the plumbing. */
export function parseRedisSessionOptions(options: RedisSessionStorageOptions): RedisSessionConfig {
  const v = validatorFor('redisSessionStorage');
  v.knownOptions(options, KNOWN);
  if (!isSupportedClient(options.client)) throw v.fail('client', options.client, SUPPORTED_CLIENTS);
  const client = keelClient(options.client);
  const prefix = validateSessionPrefix(options.prefix ?? 'sess:', 'prefix');
  const keyPrefix = validateSessionPrefix(client.keyPrefix, 'client keyPrefix');
  const indexPrefix = validatePrefix(options.indexPrefix ?? 'keel:', 'indexPrefix');
  const deadlineMs = v.positiveInteger('deadlineMs', options.deadlineMs, 1000, 'ms');
  const warnings = options.warnings;
  if (
    warnings !== undefined &&
    typeof warnings !== 'boolean' &&
    (typeof warnings !== 'object' || warnings === null || Array.isArray(warnings))
  ) {
    throw v.fail('warnings', warnings, 'true, false or { <warning name>: false }');
  }
  const events = toEvents(options.events);
  warnOnEvictionPolicy(client, 'session', EVICTION_IMPACT, events, warnings);
  return {
    client,
    prefix,
    keyPrefix,
    siblingPrefix: siblingPrefixOf(prefix, indexPrefix),
    keyspace: createKeyspace(indexPrefix, 'sess'),
    call: createStoreCaller({
      feature: 'session',
      deadlineMs,
      events,
      client,
      // Foreign data under a session key is named by the sessions' own family (`sess:*`).
      keyFamily: `${keyPrefix}${prefix}`,
      ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
      waitForReplicas: parseWaitForReplicas(v, options.waitForReplicas, deadlineMs),
      durableOperations: DURABLE_OPERATIONS,
    }),
    scripts: createScriptRunner(client, 'keel:sess', VERSION),
  };
}
