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
  type RedisStoreParts,
  type ServerClock,
  serverClockOf,
  setupRedisStore,
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
import type { LateGrantHandler, LockStore } from '../store.js';
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

/**
 * What `createLock` passes on for each Redis node: core's Redis-store options (see
 * `RedisStoreOptions`) but the client, which is one per Redlock node, and the test clock, which
 * the lock does not take; its prefix, deadline and events already validated.
 */
export interface RedisLockStoreOptions extends Omit<RedisStoreOptions, 'client' | 'clockForTests'> {
  prefix: string;
  deadlineMs: number;
  events: KeelEvents;
}

/** `host:port` of a standalone client, for errors; `cluster` for a Cluster. */
export function describeClient(client: AnyRedisClient): string {
  return keelClient(client).describe();
}

export function createRedisLockStore(
  given: AnyRedisClient,
  options: RedisLockStoreOptions,
): LockStore {
  const parts = setupRedisStore(
    { ...options, client: given },
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
  return new RedisLockStore(parts, options.deadlineMs);
}

/** One Redis server's (or Cluster's) lock store, on the plumbing `setupRedisStore` built. */
class RedisLockStore implements LockStore {
  readonly name: string;
  readonly #parts: RedisStoreParts;
  readonly #clock: ServerClock;
  /** Deadline of the background probe for the native compare-and-delete commands, ms. */
  readonly #probeDeadlineMs: number;
  // Hashing a resource name costs more than the rest of a call's client work, and a lock's
  // acquire and release (and its next acquire) name the same resource: memoise, bounded.
  readonly #keyMemo = new Map<string, readonly [owner: string, fence: string]>();
  /** Native compare-and-delete, once the background probe has answered; the script until then. */
  #native: CompareAndDelete;
  #probing = false;

  constructor(parts: RedisStoreParts, probeDeadlineMs: number) {
    this.#parts = parts;
    this.#clock = serverClockOf(parts.client);
    this.#probeDeadlineMs = probeDeadlineMs;
    this.name = describeClient(parts.client);
  }

  acquire(
    resource: string,
    token: string,
    ttlMs: number,
    onLateGrant?: LateGrantHandler,
  ): Promise<AcquireReply> {
    const keys = this.#keysOf(resource);
    const { call, runner } = this.#parts;
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
        const undo = () => this.#releaseNow(resource, token);
        await (onLateGrant ? onLateGrant(undo) : undo());
      },
    );
  }

  extend(resource: string, token: string, ttlMs: number): Promise<HoldStatus> {
    const { call, runner } = this.#parts;
    // Guarded: an extend given up on leaves the TTL where its holder believes it is.
    return call('lock.extend', async (attempt) =>
      parseHoldReply(
        lockExtend.name,
        await runner.run(lockExtend, [this.#ownerKey(resource)], [token, ttlMs], attempt),
      ),
    );
  }

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
  async release(resource: string, token: string): Promise<HoldStatus> {
    const { call, client, runner } = this.#parts;
    const command = this.#nativeRelease();
    if (command) {
      try {
        const owner = this.#ownerKey(resource);
        const args = command === 'DELEX' ? [owner, 'IFEQ', token] : [owner, token];
        const deleted = await call('lock.release', async () => {
          await this.#clock.ready();
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
        this.#native = undefined;
      }
    }
    return call('lock.release', async (attempt) =>
      parseHoldReply(
        lockRelease.name,
        await runner.run(lockRelease, [this.#ownerKey(resource)], [token], attempt),
      ),
    );
  }

  async raiseFence(resource: string, fence: number): Promise<number> {
    const { call, runner } = this.#parts;
    const reply = await call('lock.raise-fence', (attempt) =>
      runner.run(lockRaiseFence, [this.#fenceKey(resource)], [fence], attempt),
    );
    if (Array.isArray(reply) && reply.length === 2 && Number(reply[0]) === ScriptStatus.OK) {
      return Number(reply[1]);
    }
    throw new UnexpectedScriptReplyError(lockRaiseFence.name, reply);
  }

  /**
   * Compare-and-delete by the script, without a guard or breaker: the compensation of a lock
   * taken late, which must run whenever Redis gets it. Sent only once the acquire's reply
   * arrived, so it cannot overtake it.
   */
  async #releaseNow(resource: string, token: string): Promise<void> {
    await this.#parts.runner.run(lockRelease, [this.#ownerKey(resource)], [token]);
  }

  /** The native command to release with; starts the background probe on first use. */
  #nativeRelease(): CompareAndDelete {
    if (!this.#probing) {
      this.#probing = true;
      void detectCompareAndDelete(this.#parts.client, this.#probeDeadlineMs).then((found) => {
        this.#native = found;
      });
    }
    return this.#native;
  }

  #keysOf(resource: string): readonly [owner: string, fence: string] {
    let pair = this.#keyMemo.get(resource);
    if (pair === undefined) {
      if (this.#keyMemo.size >= KEY_MEMO_SIZE) this.#keyMemo.clear();
      const { keyspace } = this.#parts;
      const base = `${keyspace.prefix}${keyspace.tag(resource)}`;
      pair = [`${base}:owner`, `${base}:fence`];
      this.#keyMemo.set(resource, pair);
    }
    return pair;
  }

  #ownerKey(resource: string): string {
    return this.#keysOf(resource)[0];
  }

  #fenceKey(resource: string): string {
    return this.#keysOf(resource)[1];
  }
}
