/**
 * The Redis store: one Lua script per transition, each one EVALSHA (one round trip) through
 * core's script runner, under core's store caller (deadline, circuit breaker, fail fast while
 * reconnecting, latency events). A record is one hash under one key,
 * `<prefix>idem:{<hash of scope and key>}`, so it lives on one Cluster slot and the client's key
 * never reaches Redis as typed.
 */
import {
  type CircuitBreakerOptions,
  type Clock,
  createKeyspace,
  createScriptRunner,
  createStoreCaller,
  DEFAULT_PREFIX,
  type KeelEventListener,
  type KeelEvents,
  type RedisClient,
  toEvents,
  validatePrefix,
  validatorFor,
} from '@keel/core';
import { acquireRecord, completeRecord, releaseClaim, renewLease } from '../scripts/generated.js';
import { decodeAcquire, decodeTransition } from '../status.js';
import type { IdempotencyStore } from '../types.js';
import { VERSION } from '../version.js';

export interface RedisIdempotencyStoreOptions {
  /** An ioredis `Redis` (standalone or Sentinel) or `Cluster`; `createRedisClient()` picks safe defaults. */
  client: RedisClient;
  /** Global key prefix, without braces. Keys are `<prefix>idem:{…}`. @default 'keel:' */
  prefix?: string;
  /**
   * Deadline of each store call, ms. A claim that misses it answers 503 (the handler never runs
   * without a claim). @default 1000
   */
  deadlineMs?: number;
  /** Circuit breaker settings, or `false` to disable it. @default { failureThreshold: 5, openMs: 1000 } */
  breaker?: CircuitBreakerOptions | false;
  /** Receives `store.call` latency and `store.circuit` events. */
  events?: KeelEvents | KeelEventListener;
  /**
   * Tests only: scripts take their time from this clock instead of Redis `TIME`, so leases can
   * be expired without sleeping. Never set it in production (application clocks drift).
   * @default undefined (the Redis server clock)
   */
  clockForTests?: Clock;
}

/** The engine's record ids: 22 base64url characters. */
const HASHED_ID = /^[A-Za-z0-9_-]{22}$/;

const KNOWN = ['client', 'prefix', 'deadlineMs', 'breaker', 'events', 'clockForTests'] as const;

/** An {@link IdempotencyStore} on Redis (standalone, Sentinel or Cluster). */
export function createRedisIdempotencyStore(
  options: RedisIdempotencyStoreOptions,
): IdempotencyStore {
  const v = validatorFor('createRedisIdempotencyStore');
  v.knownOptions(options, KNOWN);
  const { client } = options;
  if (typeof client !== 'object' || client === null || typeof client.defineCommand !== 'function') {
    throw v.fail('client', client, 'an ioredis Redis or Cluster instance');
  }
  const prefix = validatePrefix(
    options.prefix ?? DEFAULT_PREFIX,
    'createRedisIdempotencyStore.prefix',
  );
  const deadlineMs = v.positiveInteger('deadlineMs', options.deadlineMs, 1000, 'milliseconds');
  const clock = v.optionalFunc<Clock>('clockForTests', options.clockForTests);
  const keys = createKeyspace(prefix, 'idem');
  // Record ids are already SHA-256 hashes of (scope, key) made by the engine — base64url, no
  // braces — so they go into the hash tag as they are, without hashing them a second time.
  // A custom caller passing its own ids gets them hashed (any text is safe then).
  const keyOf = (record: string) =>
    HASHED_ID.test(record) ? `${keys.prefix}{${record}}` : keys.key(record);
  const runner = createScriptRunner(client, 'keel:idem', VERSION);
  const call = createStoreCaller({
    feature: 'idempotency',
    deadlineMs,
    client,
    events: toEvents(options.events),
    ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
  });
  const now = () => (clock ? String(clock()) : '');

  return {
    kind: 'redis',
    // The hot paths chain with .then instead of async/await: one promise and one tick fewer.
    acquire(req) {
      // Buffers: a replayed body is binary.
      return call('acquire', () =>
        runner.runBuffer(
          acquireRecord,
          [keyOf(req.record)],
          [req.token, req.fingerprint, req.leaseMs, req.retentionMs, now()],
        ),
      ).then(decodeAcquire);
    },
    complete(record, token, completion, retentionMs) {
      const args = completion.stored
        ? [
            token,
            '1',
            completion.response.status,
            JSON.stringify(completion.response.headers),
            toBuffer(completion.response.body),
            retentionMs,
          ]
        : [token, '0', completion.status, '', '', retentionMs];
      return call('complete', () => runner.run(completeRecord, [keyOf(record)], args)).then(
        decodeComplete,
      );
    },
    async release(record, token) {
      const reply = await call('release', () => runner.run(releaseClaim, [keyOf(record)], [token]));
      return decodeTransition('release-claim', reply);
    },
    async renew(record, token, leaseMs, retentionMs) {
      const reply = await call('renew', () =>
        runner.run(renewLease, [keyOf(record)], [token, leaseMs, retentionMs, now()]),
      );
      return decodeTransition('renew-lease', reply);
    },
  };
}

function decodeComplete(reply: unknown) {
  return decodeTransition('complete-record', reply);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
