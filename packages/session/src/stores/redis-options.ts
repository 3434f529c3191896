/**
 * The Redis session storage's options, parsed once into one named config: validated, defaults
 * applied, and the plumbing built from them by core's `setupRedisStore` (store caller, script
 * runner, keyspace). What sessions add to it: connect-redis's `prefix` (any printable ASCII,
 * `sess:` by default, outside `keel:`), which core's prefix rules refuse, so Keel's own keys
 * take theirs from `indexPrefix`; and errors about foreign data name the sessions' key family.
 */
import {
  type KeelRedisClient,
  type Keyspace,
  optionNames,
  type RedisStoreOptions,
  type ScriptRunner,
  type StoreCaller,
  setupRedisStore,
  validatePrefix,
  validatorFor,
} from '@keel/core';
import { DEFAULT_SESSION_PREFIX, siblingPrefixOf, validateSessionPrefix } from '../keys.js';
import { VERSION } from '../version.js';

/**
 * Options of the Redis session storage: those every Keel Redis store takes (see
 * `RedisStoreOptions` in @keel/core) but its test clock, plus the session key layout.
 */
export interface RedisSessionStorageOptions extends Omit<RedisStoreOptions, 'clockForTests'> {
  /**
   * Prefix of session keys, as connect-redis names it. A prefix inside `indexPrefix`
   * (`'keel:sess:'`) keeps every session key under one ACL pattern (`~keel:*`). @default 'sess:'
   */
  prefix?: string | undefined;
  /** Prefix of Keel's index keys (user index, global index). No braces. @default 'keel:' */
  indexPrefix?: string | undefined;
  /** Deadline of every Redis call, ms: past it the call fails with a 503-class error. @default 1000 */
  deadlineMs?: number | undefined;
  /**
   * Saves, merges and destroys count once this many replicas confirmed them (`WAIT`, in the
   * same round trip); short of it the write fails as an outage (503). See `RedisStoreOptions`
   * in @keel/core. @default 0
   */
  waitForReplicas?: RedisStoreOptions['waitForReplicas'] | undefined;
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
  const { prefix: given, indexPrefix: givenIndexPrefix, ...shared } = options;
  const prefix = validateSessionPrefix(given ?? DEFAULT_SESSION_PREFIX, 'prefix');
  const indexPrefix = validatePrefix(givenIndexPrefix ?? 'keel:', 'indexPrefix');
  const warnings = options.warnings;
  if (
    warnings !== undefined &&
    typeof warnings !== 'boolean' &&
    (typeof warnings !== 'object' || warnings === null || Array.isArray(warnings))
  ) {
    throw v.fail('warnings', warnings, 'true, false or { <warning name>: false }');
  }
  // Keel's own keys (indexes, the scripts' keyspace) live under `indexPrefix`.
  const { client, keyspace, call, runner } = setupRedisStore(
    { ...shared, prefix: indexPrefix },
    {
      component: 'redisSessionStorage',
      feature: 'session',
      short: 'sess',
      version: VERSION,
      defaultDeadlineMs: 1000,
      evictionImpact: EVICTION_IMPACT,
      durableOperations: DURABLE_OPERATIONS,
      // Foreign data under a session key is named by the sessions' own family (`sess:*`).
      keyFamily: ({ keyPrefix }) => `${keyPrefix}${prefix}`,
    },
  );
  return {
    client,
    prefix,
    keyPrefix: validateSessionPrefix(client.keyPrefix, 'client keyPrefix'),
    siblingPrefix: siblingPrefixOf(prefix, indexPrefix),
    keyspace,
    call,
    scripts: runner,
  };
}
