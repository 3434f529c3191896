/**
 * What the lock logic needs from "where the lock lives": one store, or a Redlock quorum of
 * several. Both turn store statuses into outcomes and store failures into typed errors here,
 * so `createLock` handles a single Redis, a Cluster, the memory store and Redlock alike.
 */
import { isStoreFailure } from '@keel/core';
import { type LockLostReason, LockUnavailableError } from './errors.js';
import { ScriptStatus } from './status.js';
import type { LateGrantHandler, LockStore } from './store.js';

/** The outcome of one acquisition attempt. */
export type Attempt =
  | {
      kind: 'acquired';
      fence: number;
      /** Monotonic time at which the (first) request was sent: validity counts from here. */
      sentAt: number;
    }
  | { kind: 'busy'; retryAfterMs: number | undefined };

/** The outcome of one extension. */
export type Extension = { ok: true; sentAt: number } | { ok: false; reason: LockLostReason };

export interface LockBackend {
  /**
   * One attempt. Rejects with `LockUnavailableError` / `LockQuorumError` when it cannot decide.
   * `onLateGrant` receives each lock a store took after the attempt stopped waiting for it.
   */
  attempt(
    resource: string,
    token: string,
    ttlMs: number,
    onLateGrant?: LateGrantHandler,
  ): Promise<Attempt>;
  /** Rejects like `attempt`; resolves `{ ok: false }` when the lock is no longer ours. */
  extend(resource: string, token: string, ttlMs: number): Promise<Extension>;
  /** True when our lock was deleted; false when it was no longer ours. */
  release(resource: string, token: string): Promise<boolean>;
  /**
   * After acquire gave up with an uncertain outcome (a request that timed out may still have
   * taken the lock): delete whatever this token holds. Compare-and-delete, so it never touches
   * another owner's lock. Never rejects.
   */
  cleanup(resource: string, token: string): Promise<void>;
}

/**
 * A store failure becomes a LockUnavailableError with core's error as its `cause`: a timeout,
 * an outage or a Redis that cannot serve now (`OOM`, `BUSY`, `LOADING`, `READONLY`, …), a refused
 * command or key (`NOPERM`: StoreMisconfiguredError), foreign data under the lock's keys
 * (`WRONGTYPE`: StoreDataError). Bugs pass through.
 */
export function unavailable(
  error: unknown,
  resource: string,
  operation: 'acquire' | 'extend' | 'release',
): unknown {
  return isStoreFailure(error) ? new LockUnavailableError(resource, operation, error) : error;
}

/** The backend over one store: Redis, Cluster or memory. */
export function singleBackend(store: LockStore, now: () => number): LockBackend {
  return {
    async attempt(resource, token, ttlMs, onLateGrant) {
      const sentAt = now();
      let reply: Awaited<ReturnType<LockStore['acquire']>>;
      try {
        reply = await store.acquire(resource, token, ttlMs, onLateGrant);
      } catch (error) {
        throw unavailable(error, resource, 'acquire');
      }
      if (reply.status === ScriptStatus.BUSY) {
        return { kind: 'busy', retryAfterMs: reply.ttlMs >= 0 ? reply.ttlMs : undefined };
      }
      return { kind: 'acquired', fence: reply.fence, sentAt };
    },

    async extend(resource, token, ttlMs) {
      const sentAt = now();
      let status: Awaited<ReturnType<LockStore['extend']>>;
      try {
        status = await store.extend(resource, token, ttlMs);
      } catch (error) {
        throw unavailable(error, resource, 'extend');
      }
      if (status === ScriptStatus.OK) return { ok: true, sentAt };
      return { ok: false, reason: status === ScriptStatus.OTHER_OWNER ? 'taken' : 'expired' };
    },

    async release(resource, token) {
      try {
        return (await store.release(resource, token)) === ScriptStatus.OK;
      } catch (error) {
        throw unavailable(error, resource, 'release');
      }
    },

    async cleanup(resource, token) {
      // Best effort after giving up: a lock left behind lapses with its TTL, and the failure
      // is not lost (the store call reports it as `store.call`, with the error).
      await store.release(resource, token).catch(() => {});
    },
  };
}
