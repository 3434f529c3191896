/**
 * The one-node lock store both stores implement (Redis, standalone or Cluster, and memory),
 * and Redlock runs on N of them. Its own file so that the stores and the public types can both
 * import it without importing each other.
 */
import type { AcquireReply, HoldStatus } from './status.js';

/**
 * What to do with a lock an attempt took after its caller had stopped waiting: the store
 * granted it, but the reply came after the deadline (the script started in time and answered
 * late). `release` deletes it by its owner token. The acquire call the attempt belongs to
 * decides: it releases it unless it went on to hand out the lock under that token (a later
 * attempt of the same call found it "already ours").
 */
export type LateGrantHandler = (release: () => Promise<void>) => Promise<void>;

/**
 * One lock store: a Redis server (standalone or Cluster) or the process's memory. Redlock runs
 * the same calls on N of them. Every method is one atomic step on the store; store failures
 * reject with core's store errors (`StoreTimeoutError`, `StoreUnavailableError`,
 * `StoreMisconfiguredError`, `StoreDataError`: `isStoreFailure(e)` is true for all of them).
 */
export interface LockStore {
  /** For errors and events: `memory`, or the Redis address. */
  readonly name: string;
  /**
   * Take `resource` for `token` for `ttlMs` and issue a fencing token (see `lock-acquire-2.lua`).
   * `onLateGrant` handles a lock taken after the call timed out; without it, such a lock is
   * released at once.
   */
  acquire(
    resource: string,
    token: string,
    ttlMs: number,
    onLateGrant?: LateGrantHandler,
  ): Promise<AcquireReply>;
  /** Set the TTL to `ttlMs` from now if `token` still holds it. */
  extend(resource: string, token: string, ttlMs: number): Promise<HoldStatus>;
  /** Delete the lock if `token` still holds it. */
  release(resource: string, token: string): Promise<HoldStatus>;
  /** Redlock: raise this node's fencing counter to at least `fence`; resolves to the counter. */
  raiseFence(resource: string, fence: number): Promise<number>;
}
