/**
 * The Redis session storage. Sessions stay where connect-redis keeps them (`<prefix><id>`, a
 * JSON string), Keel's metadata and tombstones sit beside them on the same Cluster slot (see
 * keys.ts), and every decision is one script: read (sliding the idle TTL when asked), save
 * (whole or compare-and-set), merge, touch, destroy. Calls go through core's store caller: a deadline on each, fail fast while the
 * client reconnects, a circuit breaker — a dead Redis is an error within the deadline, never a
 * hang.
 *
 * Bulk calls never send a cross-slot command: ids come from SCAN on every master of a Cluster
 * (the MATCH pattern carries the ioredis `keyPrefix`, which ioredis does not add to patterns),
 * reads and deletes go one session (one slot) at a time, pipelined by ioredis. The optional
 * global index is a sorted set scored by expiry; the user index is a set per user.
 */
import {
  type CircuitBreakerOptions,
  createKeyspace,
  createScriptRunner,
  createStoreCaller,
  isCluster,
  type KeelEventListener,
  type KeelEvents,
  type RedisClient,
  toEvents,
  validatePrefix,
  validatorFor,
} from '@keel/core';
import type { Redis } from 'ioredis';
import { isValidSessionId, sessionKeys, validateSessionPrefix } from '../keys.js';
import {
  indexCount,
  sessionDestroy,
  sessionMerge,
  sessionRead,
  sessionSave,
  sessionTouch,
  userIndexAdd,
} from '../scripts/generated.js';
import { toDestroyResult, toReadResult, toTouchResult, toWriteResult } from '../status.js';
import type { SessionStorage } from '../types.js';
import { VERSION } from '../version.js';

export interface RedisSessionStorageOptions {
  /** An ioredis client: standalone, Sentinel or Cluster. Its `keyPrefix` is respected. */
  client: RedisClient;
  /** Prefix of session keys, as connect-redis names it. @default 'sess:' */
  prefix?: string;
  /** Prefix of Keel's index keys (user index, global index). No braces. @default 'keel:' */
  indexPrefix?: string;
  /** Deadline of every Redis call, ms: past it the call fails with a 503-class error. @default 1000 */
  deadlineMs?: number;
  /** Circuit breaker in front of Redis, or `false`. @default { failureThreshold: 5, openMs: 1000 } */
  breaker?: CircuitBreakerOptions | false;
  /** Receives `store.call` (with latency), `store.circuit` events. */
  events?: KeelEvents | KeelEventListener;
}

/** Ids per page read from the global index (ZRANGE by rank). */
const INDEX_PAGE = 5_000;

const KNOWN = ['client', 'prefix', 'indexPrefix', 'deadlineMs', 'breaker', 'events'] as const;

/** Redis storage for sessions, in connect-redis's key format. */
export function createRedisSessionStorage(options: RedisSessionStorageOptions): SessionStorage {
  const v = validatorFor('redisSessionStorage');
  v.knownOptions(options, KNOWN);
  const client = options.client;
  if (typeof client !== 'object' || client === null || typeof client.defineCommand !== 'function') {
    throw v.fail('client', client, 'an ioredis Redis or Cluster instance');
  }
  const prefix = validateSessionPrefix(options.prefix ?? 'sess:', 'prefix');
  const keyPrefix = validateSessionPrefix(client.options.keyPrefix ?? '', 'client keyPrefix');
  const keyspace = createKeyspace(
    validatePrefix(options.indexPrefix ?? 'keel:', 'indexPrefix'),
    'sess',
  );
  const deadlineMs = v.positiveInteger('deadlineMs', options.deadlineMs, 1000, 'ms');
  const events = toEvents(options.events);
  const call = createStoreCaller({
    feature: 'session',
    deadlineMs,
    events,
    client,
    ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
  });
  const scripts = createScriptRunner(client, 'keel:sess', VERSION);
  const keys = (id: string) => sessionKeys(prefix, keyPrefix, id);
  const triple = (id: string) => {
    const k = keys(id);
    return [k.session, k.meta, k.tomb];
  };
  const userKey = (userHash: string) => keyspace.key(userHash, 'user');
  const indexKey = keyspace.key(`${keyPrefix}${prefix}`, 'index');
  const scanPattern = `${(keyPrefix + prefix).replace(/[*?[\]\\]/g, '\\$&')}*`;
  const strip = keyPrefix.length + prefix.length;

  const readScript = (id: string, afterMs: number, absoluteTtlMs: number) => {
    const k = keys(id);
    return call('read', () =>
      scripts.runBuffer(sessionRead, [k.session, k.meta], [afterMs, absoluteTtlMs]),
    );
  };

  const read = async (id: string) => {
    const result = toReadResult(sessionRead.name, await readScript(id, -1, 0));
    return result.status === 'ok' ? result.session : undefined;
  };

  async function* scanNode(node: Redis, pageSize: number): AsyncIterable<string[]> {
    let cursor = '0';
    do {
      const [next, found] = await call('scan', () =>
        node.scan(cursor, 'MATCH', scanPattern, 'COUNT', pageSize),
      );
      cursor = next;
      const ids = found.map((key) => key.slice(strip)).filter(isValidSessionId);
      if (ids.length > 0) yield ids;
    } while (cursor !== '0');
  }

  return {
    kind: 'redis',
    prefix,
    read,

    async readAndSlide(id, slide) {
      return toReadResult(
        sessionRead.name,
        await readScript(id, slide.afterMs, slide.absoluteTtlMs),
      );
    },

    readMany: (ids) => Promise.all(ids.map(read)),

    async save(id, request) {
      const reply = await call('save', () =>
        scripts.runBuffer(sessionSave, triple(id), [
          request.payload,
          request.ttlMs,
          request.absoluteTtlMs,
          request.baseDigest ?? '',
          request.createdAtMs,
          request.userHash,
          request.touch ? '1' : '0',
        ]),
      );
      return toWriteResult(sessionSave.name, reply);
    },

    async merge(id, request) {
      const args: (string | number)[] = [
        request.ttlMs,
        request.absoluteTtlMs,
        request.userHash,
        request.touch ? '1' : '0',
        request.changed.length,
      ];
      for (const [name, text] of request.changed) args.push(name, text);
      args.push(request.removed.length, ...request.removed);
      const reply = await call('merge', () => scripts.run(sessionMerge, triple(id), args));
      return toWriteResult(sessionMerge.name, reply);
    },

    async touch(id, ttlMs, absoluteTtlMs) {
      const k = keys(id);
      const reply = await call('touch', () =>
        scripts.run(sessionTouch, [k.session, k.meta], [ttlMs, absoluteTtlMs]),
      );
      return toTouchResult(sessionTouch.name, reply);
    },

    async destroy(id, tombstoneTtlMs, userHash) {
      const reply = await call('destroy', () =>
        scripts.run(sessionDestroy, triple(id), [tombstoneTtlMs, userHash ?? '']),
      );
      return toDestroyResult(sessionDestroy.name, reply);
    },

    async *scanIds(pageSize) {
      const nodes = isCluster(client) ? client.nodes('master') : [client];
      for (const node of nodes) yield* scanNode(node, pageSize);
    },

    async clear(pageSize) {
      let deleted = 0;
      const nodes = isCluster(client) ? client.nodes('master') : [client];
      for (const node of nodes) {
        for await (const ids of scanNode(node, pageSize)) {
          // A session and its metadata share a slot: one two-key UNLINK each, never cross-slot.
          await call('clear', () =>
            Promise.all(ids.map((id) => client.unlink(keys(id).session, keys(id).meta))),
          );
          deleted += ids.length;
        }
      }
      await call('clear', () => client.unlink(indexKey));
      return deleted;
    },

    async userIndexAdd(userHash, id, keepMs) {
      const reply = (await call('user-index', () =>
        scripts.run(userIndexAdd, [userKey(userHash)], [id, keepMs]),
      )) as [number, number];
      return Number(reply[1]);
    },

    userIndexIds: (userHash) => call('user-index', () => client.smembers(userKey(userHash))),

    async userIndexRemove(userHash, ids) {
      if (ids.length === 0) return;
      await call('user-index', () => client.srem(userKey(userHash), ...ids));
    },

    async indexAdd(id, expiresAtMs) {
      await call('index', () => client.zadd(indexKey, expiresAtMs < 0 ? '+inf' : expiresAtMs, id));
    },

    async indexRemove(id) {
      await call('index', () => client.zrem(indexKey, id));
    },

    async indexCount() {
      const reply = (await call('index', () => scripts.run(indexCount, [indexKey], []))) as [
        number,
        number,
      ];
      return Number(reply[1]);
    },

    async *indexIds(pageSize) {
      // Prune expired members first, so the pages hold live sessions only; then page by rank
      // (O(log n + page) each). Ids added or removed meanwhile may be missed or repeated once.
      await call('index', () => scripts.run(indexCount, [indexKey], []));
      const page = Math.max(pageSize, INDEX_PAGE);
      for (let start = 0; ; start += page) {
        const ids = await call('index', () => client.zrange(indexKey, start, start + page - 1));
        if (ids.length > 0) yield ids;
        if (ids.length < page) return;
      }
    },

    async indexClear() {
      await call('index', () => client.unlink(indexKey));
    },
  };
}
