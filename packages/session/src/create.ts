/**
 * One way to build a repository from the options the adapters take: a Redis storage when a
 * client is given, the memory storage otherwise. Shared by the express-session and koa-session
 * stores so both read their options the same way.
 */
import {
  type AnyRedisClient,
  type CircuitBreakerOptions,
  optionNames,
  type WarningSwitches,
} from '@keel/core';
import { SessionRepository, type SessionRepositoryOptions } from './repository.js';
import { createMemorySessionStorage, type MemorySessionStorageOptions } from './stores/memory.js';
import { createRedisSessionStorage, type RedisSessionStorageOptions } from './stores/redis.js';

/** Where sessions are kept: Redis through `client`, else memory. */
export interface SessionStorageChoice {
  /** An ioredis client (standalone, Sentinel, Cluster). Without one, sessions live in memory. */
  client?: AnyRedisClient;
  /**
   * Prefix of session keys, as connect-redis names it. A prefix inside `indexPrefix`
   * (`'keel:sess:'`) keeps every session key under one ACL pattern (`~keel:*`). @default 'sess:'
   */
  prefix?: string;
  /** Prefix of Keel's index keys. @default 'keel:' */
  indexPrefix?: string;
  /** Deadline of every Redis call, ms. @default 1000 */
  deadlineMs?: number;
  /** Circuit breaker in front of Redis, or `false`. */
  breaker?: CircuitBreakerOptions | false;
  /** Bounds of the memory storage (used without `client`). */
  memory?: MemorySessionStorageOptions;
  /**
   * Turn one-shot warnings off by name (`{ evictionPolicy: false }`: the Redis server evicts
   * keys), or all with `false`. @default true
   */
  warnings?: WarningSwitches;
  /**
   * Redis only: a save, merge or destroy counts once this many replicas confirmed it (`WAIT`),
   * so a failover loses no login or logout the application was told succeeded; short of it,
   * the write is an error (503). See @keel/session's README. @default 0
   */
  waitForReplicas?: RedisSessionStorageOptions['waitForReplicas'];
}

/** The option names of {@link SessionStorageChoice}. */
export const STORAGE_CHOICE_OPTIONS = optionNames<SessionStorageChoice>({
  client: true,
  prefix: true,
  indexPrefix: true,
  deadlineMs: true,
  breaker: true,
  memory: true,
  warnings: true,
  waitForReplicas: true,
});

/** A repository over Redis (`client`) or memory, with the repository options in `rest`. */
export function createSessionRepository(
  choice: SessionStorageChoice,
  rest: Omit<SessionRepositoryOptions, 'storage'>,
  component: string,
): SessionRepository {
  const storage =
    choice.client === undefined
      ? createMemorySessionStorage({
          ...choice.memory,
          // The storage choice's prefix, else the memory options' own.
          prefix: choice.prefix ?? choice.memory?.prefix,
        })
      : createRedisSessionStorage({
          client: choice.client,
          prefix: choice.prefix,
          indexPrefix: choice.indexPrefix,
          deadlineMs: choice.deadlineMs,
          breaker: choice.breaker,
          warnings: choice.warnings,
          waitForReplicas: choice.waitForReplicas,
          events: rest.events,
        });
  return new SessionRepository({ ...rest, storage }, component);
}
