/**
 * The Redis lock store: one EVALSHA per operation, every key of a resource under one hash tag
 * (`<prefix>lock:{<sha256(resource)>}:owner` and `…:fence`), every call through core's store
 * caller (deadline, circuit breaker, waiting for a connecting client, error classification,
 * `store.call` events), built by core's `setupRedisStore`.
 *
 * TTLs are server-side (`PX`): the only clock that matters for validity is the client's
 * monotonic one, started before the request is sent. The scripts read `TIME` for two other
 * reasons: the call guard (a script that starts after its caller gave up does nothing), and the
 * floor of new fencing tokens (see `lock-acquire-2.lua`).
 */
import {
  type AnyRedisClient,
  type KeelEvents,
  keelClient,
  type RedisStoreOptions,
  serverClockOf,
  setupRedisStore,
  UnexpectedScriptReplyError,
  type WarningSwitches,
} from '@keel/core';
import { lockAcquire, lockExtend, lockRaiseFence, lockRelease } from '../scripts/generated.js';
import {
  type AcquireReply,
  type HoldStatus,
  parseAcquireReply,
  parseHoldReply,
  ScriptStatus,
} from '../status.js';
import type { LockStore } from '../store.js';
import { VERSION } from '../version.js';
import {
  type CompareAndDelete,
  detectCompareAndDelete,
  markUnsupported,
} from './compare-and-delete.js';

/** Resource names whose keys are remembered per store. */
const KEY_MEMO_SIZE = 1024;

/** What Redis eviction costs the lock, for core's one-time `evictionPolicy` warning. */
const EVICTION_IMPACT =
  'an evicted lock is granted to a second holder while the first still holds it (fencing tokens keep rising: they are floored at the server clock)';

export interface RedisLockStoreOptions {
  /** Global key prefix (validated by `createLock`). */
  prefix: string;
  /** Deadline of each call, ms. */
  deadlineMs: number;
  breaker?: RedisStoreOptions['breaker'] | undefined;
  events: KeelEvents;
  warnings?: WarningSwitches | undefined;
  /** Replicas that must confirm an acquisition (`WAIT`) before it is handed out. */
  waitForReplicas?: RedisStoreOptions['waitForReplicas'] | undefined;
}

/** `host:port` of a standalone client, for errors; `cluster` for a Cluster. */
export function describeClient(client: AnyRedisClient): string {
  return keelClient(client).describe();
}

export function createRedisLockStore(
  given: AnyRedisClient,
  options: RedisLockStoreOptions,
): LockStore {
  const { client, keyspace, runner, call } = setupRedisStore(
    {
      client: given,
      prefix: options.prefix,
      deadlineMs: options.deadlineMs,
      events: options.events,
      ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
      ...(options.warnings === undefined ? {} : { warnings: options.warnings }),
      ...(options.waitForReplicas === undefined
        ? {}
        : { waitForReplicas: options.waitForReplicas }),
    },
    {
      component: 'createLock',
      feature: 'lock',
      short: 'lock',
      version: VERSION,
      defaultDeadlineMs: 500,
      evictionImpact: EVICTION_IMPACT,
      // An acquisition only a master holds is handed out twice if that master fails over: with
      // `waitForReplicas`, one short of its replicas is held back (LateGrants) and retried.
      durableOperations: ['lock.acquire'],
    },
  );
  // Hashing a resource name costs more than the rest of a call's client work, and a lock's
  // acquire and release (and its next acquire) name the same resource: memoise, bounded.
  const memo = new Map<string, readonly [owner: string, fence: string]>();
  const keysOf = (resource: string) => {
    let pair = memo.get(resource);
    if (pair === undefined) {
      if (memo.size >= KEY_MEMO_SIZE) memo.clear();
      const base = `${keyspace.prefix}${keyspace.tag(resource)}`;
      pair = [`${base}:owner`, `${base}:fence`];
      memo.set(resource, pair);
    }
    return pair;
  };
  const ownerKey = (resource: string) => keysOf(resource)[0];
  const fenceKey = (resource: string) => keysOf(resource)[1];
  const clock = serverClockOf(client);

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

  /**
   * Compare-and-delete by the script, without a guard or breaker: the compensation of a lock
   * taken late, which must run whenever Redis gets it. Sent only once the acquire's reply
   * arrived, so it cannot overtake it.
   */
  const releaseNow = async (resource: string, token: string) => {
    await runner.run(lockRelease, [ownerKey(resource)], [token]);
  };

  /**
   * Release through the store caller. The script is guarded like every other: a release given
   * up on leaves the lock to its TTL, as the caller was told. That also keeps the order of
   * calls on a connection: a guarded script waits for the server-clock measurement after a
   * (re)connect, and an unguarded release could overtake an acquire of the same token queued
   * behind it (Redlock releases on a node whose acquire is still pending) and leave that
   * node's lock behind. The native commands are plain commands, which no guard covers: they
   * wait for the same measurement, and a late one only frees a lock its holder gave up when it
   * called `release()` (an owner token is never handed out again).
   */
  async function release(resource: string, token: string): Promise<HoldStatus> {
    const command = nativeRelease();
    if (command) {
      try {
        const args =
          command === 'DELEX' ? [ownerKey(resource), 'IFEQ', token] : [ownerKey(resource), token];
        const deleted = await call('lock.release', async () => {
          await clock.ready();
          return client.call(command, ...args);
        });
        // The native commands do not say whether another owner holds it; both mean "not ours".
        return Number(deleted) === 1 ? ScriptStatus.OK : ScriptStatus.ABSENT;
      } catch (error) {
        // A server downgraded behind the same client, or an ACL user without the command: the
        // script from now on (core's error keeps Redis's reply in its message).
        const message = String((error as Error)?.message);
        if (!/unknown command|syntax error|NOPERM/i.test(message)) throw error;
        markUnsupported(client);
        native = undefined;
      }
    }
    return call('lock.release', async (attempt) =>
      parseHoldReply(
        lockRelease.name,
        await runner.run(lockRelease, [ownerKey(resource)], [token], attempt),
      ),
    );
  }

  return {
    name: describeClient(client),

    acquire(resource, token, ttlMs, onLateGrant): Promise<AcquireReply> {
      const keys = keysOf(resource);
      return call(
        'lock.acquire',
        // Guarded: an acquire that starts after its caller gave up takes nothing.
        async (attempt) =>
          parseAcquireReply(
            lockAcquire.name,
            await runner.run(lockAcquire, keys, [token, ttlMs], attempt),
          ),
        // It started in time but answered late: the lock was taken for a caller that is no
        // longer waiting. Its acquire() call decides whether to keep it (see LateGrantHandler).
        async (late) => {
          if (late.status === ScriptStatus.BUSY) return;
          const undo = () => releaseNow(resource, token);
          await (onLateGrant ? onLateGrant(undo) : undo());
        },
      );
    },

    extend(resource, token, ttlMs): Promise<HoldStatus> {
      // Guarded: an extend given up on leaves the TTL where its holder believes it is.
      return call('lock.extend', async (attempt) =>
        parseHoldReply(
          lockExtend.name,
          await runner.run(lockExtend, [ownerKey(resource)], [token, ttlMs], attempt),
        ),
      );
    },

    release,

    async raiseFence(resource, fence): Promise<number> {
      const reply = await call('lock.raise-fence', (attempt) =>
        runner.run(lockRaiseFence, [fenceKey(resource)], [fence], attempt),
      );
      if (Array.isArray(reply) && reply.length === 2 && Number(reply[0]) === ScriptStatus.OK) {
        return Number(reply[1]);
      }
      throw new UnexpectedScriptReplyError(lockRaiseFence.name, reply);
    },
  };
}
