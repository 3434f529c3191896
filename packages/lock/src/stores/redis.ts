/**
 * The Redis lock store: one EVALSHA per operation, every key of a resource under one hash tag
 * (`<prefix>lock:{<sha256(resource)>}:owner` and `…:fence`), every call through core's store
 * caller (deadline, circuit breaker, fail fast while reconnecting, `store.call` events).
 *
 * TTLs are server-side (`PX`), so the scripts never read `TIME`: the only clock that matters
 * for validity is the client's monotonic one, started before the request is sent.
 */
import {
  type CircuitBreakerOptions,
  createKeyspace,
  createScriptRunner,
  createStoreCaller,
  isCluster,
  type KeelEvents,
  type RedisClient,
  UnexpectedScriptReplyError,
} from '@keel/core';
import { lockAcquire, lockExtend, lockRaiseFence, lockRelease } from '../scripts/generated.js';
import {
  type AcquireReply,
  type HoldStatus,
  parseAcquireReply,
  parseHoldReply,
  ScriptStatus,
} from '../status.js';
import type { LockStore } from '../types.js';
import { VERSION } from '../version.js';
import {
  type CompareAndDelete,
  detectCompareAndDelete,
  markUnsupported,
} from './compare-and-delete.js';

/** Resource names whose keys are remembered per store. */
const KEY_MEMO_SIZE = 1024;

export interface RedisLockStoreOptions {
  /** Global key prefix. */
  prefix: string;
  /** Deadline of each call, ms. */
  deadlineMs: number;
  breaker?: CircuitBreakerOptions | false | undefined;
  events?: KeelEvents | undefined;
}

/** `host:port` of a standalone client, for errors; `cluster` for a Cluster. */
export function describeClient(client: RedisClient): string {
  if (isCluster(client)) return 'cluster';
  const { host, port, path } = client.options;
  return path ? `unix:${path}` : `${host ?? 'localhost'}:${port ?? 6379}`;
}

export function createRedisLockStore(
  client: RedisClient,
  options: RedisLockStoreOptions,
): LockStore {
  const keys = createKeyspace(options.prefix, 'lock');
  const scripts = createScriptRunner(client, 'keel:lock', VERSION);
  const call = createStoreCaller({
    feature: 'lock',
    deadlineMs: options.deadlineMs,
    client,
    ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
    ...(options.events ? { events: options.events } : {}),
  });
  // Hashing a resource name costs more than the rest of a call's client work, and a lock's
  // acquire and release (and its next acquire) name the same resource: memoise, bounded.
  const memo = new Map<string, readonly [owner: string, fence: string]>();
  const keysOf = (resource: string) => {
    let pair = memo.get(resource);
    if (pair === undefined) {
      if (memo.size >= KEY_MEMO_SIZE) memo.clear();
      const base = `${keys.prefix}${keys.tag(resource)}`;
      pair = [`${base}:owner`, `${base}:fence`];
      memo.set(resource, pair);
    }
    return pair;
  };
  const ownerKey = (resource: string) => keysOf(resource)[0];
  const fenceKey = (resource: string) => keysOf(resource)[1];

  // Native compare-and-delete, once the background probe has answered; the script until then.
  let native: CompareAndDelete;
  let probing = false;
  const nativeRelease = (): CompareAndDelete => {
    if (!probing) {
      probing = true;
      void detectCompareAndDelete(client, options.deadlineMs).then((found) => {
        native = found;
      });
    }
    return native;
  };

  return {
    name: describeClient(client),

    async acquire(resource, token, ttlMs): Promise<AcquireReply> {
      const reply = await call('lock.acquire', () =>
        scripts.run(lockAcquire, keysOf(resource), [token, ttlMs]),
      );
      return parseAcquireReply(lockAcquire.name, reply);
    },

    async extend(resource, token, ttlMs): Promise<HoldStatus> {
      const reply = await call('lock.extend', () =>
        scripts.run(lockExtend, [ownerKey(resource)], [token, ttlMs]),
      );
      return parseHoldReply(lockExtend.name, reply);
    },

    async release(resource, token): Promise<HoldStatus> {
      const command = nativeRelease();
      if (command) {
        try {
          const args =
            command === 'DELEX' ? [ownerKey(resource), 'IFEQ', token] : [ownerKey(resource), token];
          const deleted = await call('lock.release', () => client.call(command, ...args));
          // The native commands do not say whether another owner holds it; both mean "not ours".
          return Number(deleted) === 1 ? ScriptStatus.OK : ScriptStatus.ABSENT;
        } catch (error) {
          if (!/unknown command|syntax error/i.test(String((error as Error)?.message))) throw error;
          // A server downgraded behind the same client: the script from now on.
          markUnsupported(client);
          native = undefined;
        }
      }
      const reply = await call('lock.release', () =>
        scripts.run(lockRelease, [ownerKey(resource)], [token]),
      );
      return parseHoldReply(lockRelease.name, reply);
    },

    async raiseFence(resource, fence): Promise<number> {
      const reply = await call('lock.raise-fence', () =>
        scripts.run(lockRaiseFence, [fenceKey(resource)], [fence]),
      );
      if (Array.isArray(reply) && reply.length === 2 && Number(reply[0]) === ScriptStatus.OK) {
        return Number(reply[1]);
      }
      throw new UnexpectedScriptReplyError(lockRaiseFence.name, reply);
    },
  };
}
