/**
 * Public types of @keel/lock: the held {@link Lock}, the {@link LockManager} `createLock()`
 * returns and their options. The one-node store contract is in `store.ts`.
 */
import type {
  AnyRedisClient,
  CircuitBreakerOptions,
  KeelEventListener,
  KeelEvents,
  WarningSwitches,
} from '@keel/core';
import type { LockLostReason } from './errors.js';
import type { MemoryLockStore } from './stores/memory.js';

/** How `acquire` retries while the lock is busy or the store does not answer. */
export interface RetryOptions {
  /** Attempts in total, the first included; 1 means no retry. @default 10 */
  attempts?: number;
  /** Pause between attempts, ms. @default 100 */
  delayMs?: number;
  /** Random extra pause added to each `delayMs`, up to this many ms (avoids lock-step retries). @default 100 */
  jitterMs?: number;
}

/** Options of one `acquire` / `tryAcquire` call; each defaults to `createLock`'s. */
export interface AcquireOptions {
  /** How long the lock lives unless extended or released, ms. @default createLock's `ttlMs` */
  ttlMs?: number;
  /** Retries while busy or unavailable. Ignored by `tryAcquire` (one attempt). @default createLock's `retry` */
  retry?: RetryOptions;
  /** Aborts the wait: `acquire` rejects with `signal.reason` and leaves nothing held. */
  signal?: AbortSignal;
}

/** Options of `withLock`: those of `acquire`, plus the watchdog's pace. */
export interface WithLockOptions extends AcquireOptions {
  /**
   * The watchdog renews the lock (for another `ttlMs`) once this fraction of its TTL has passed
   * since it was taken or last renewed. A third leaves time for two failed renewals before the
   * lock lapses. @default createLock's `renewRatio` (1/3)
   */
  renewRatio?: number;
}

/**
 * A held lock. Its validity is tracked on this process's monotonic clock from the moment the
 * acquiring request was *sent*, minus the clock-drift allowance, so it never outlives the lock
 * in the store. Properties destructure (`const { signal, fencingToken } = lock`); call the
 * methods on the lock (`lock.isHeld()`).
 */
export interface Lock {
  /** The resource name given to `acquire`. */
  readonly resource: string;
  /** This owner's random token (128 bits, base64url). Only it can extend or release the lock. */
  readonly token: string;
  /**
   * Strictly increasing per resource: every acquisition gets a larger one than all before it,
   * also after the store lost its data (a restart without persistence, eviction, `FLUSHALL`, a
   * failover), because a lost counter restarts at the store's clock in microseconds (about
   * 1.7 × 10¹⁵ today, so do not expect 1, 2, 3). Send it with every write the lock protects and
   * have the downstream store reject a write whose token is lower than the highest it has seen
   * (see the README). A JSON-safe integer (below 2⁵³ until the year 2255).
   */
  readonly fencingToken: number;
  /**
   * When the lock stops being valid, as ms since the epoch (`performance.timeOrigin` plus the
   * monotonic deadline: comparable with `Date.now()`, but immune to wall-clock steps). Moves
   * forward on each successful `extend`.
   */
  readonly validUntil: number;
  /**
   * Aborts when the lock is lost: its validity ran out (even if the event loop was blocked and
   * no timer could run, the next look at the signal or `isHeld()` aborts it), or an `extend`
   * found it gone or taken over. `signal.reason` is a {@link LockLostError}. It does not abort
   * on a normal `release()`.
   */
  readonly signal: AbortSignal;
  /** True while the lock is valid. Ask it right before each side effect the lock protects. */
  isHeld(): boolean;
  /** Validity left, ms (0 once lost or released). */
  remainingMs(): number;
  /**
   * Set the lock's TTL to `ttlMs` from now (default: the TTL it was acquired with). Rejects with
   * {@link LockLostError} (and aborts `signal`) when the lock is no longer ours, with
   * `LockUnavailableError` / `LockQuorumError` when the store did not answer — the lock is
   * then still valid until `validUntil`.
   */
  extend(ttlMs?: number): Promise<void>;
  /**
   * Delete the lock if this owner still holds it: `true` when it did, `false` when the lock had
   * already expired or been taken over (nothing deleted — a compare-and-delete never touches
   * another owner's lock). A second call answers `false` without a store call. Rejects with
   * `LockUnavailableError` / `LockQuorumError` if the store did not answer (the TTL frees it).
   */
  release(): Promise<boolean>;
}

/** What `createLock()` returns. */
export interface LockManager {
  /**
   * Take the lock on `resource`, retrying while it is busy (see {@link RetryOptions}). Rejects
   * with `LockBusyError`, `LockQuorumError` or `LockUnavailableError`; never leaves a lock
   * behind when it rejects.
   */
  acquire(resource: string, options?: AcquireOptions): Promise<Lock>;
  /**
   * One attempt: the lock, or `undefined` when another owner holds it. Store failures still
   * reject (`LockUnavailableError`, `LockQuorumError`).
   */
  tryAcquire(resource: string, options?: Omit<AcquireOptions, 'retry'>): Promise<Lock | undefined>;
  /**
   * Acquire, run `fn(lock)` while a watchdog renews the lock, release in `finally`. Resolves to
   * `fn`'s result; rejects with `fn`'s error, with the acquisition's error (then `fn` never
   * ran), or with `LockLostError` when the lock was lost before `fn` settled.
   */
  withLock<T>(
    resource: string,
    fn: (lock: Lock) => T | Promise<T>,
    options?: WithLockOptions,
  ): Promise<T>;
}

/** The options of `createLock()`. Give one of `client`, `clients` or `memory`. */
export interface CreateLockOptions {
  /** A Redis (standalone, Sentinel or Cluster) client: one lock store. */
  client?: AnyRedisClient;
  /**
   * Redlock: N independent Redis masters (not replicas of each other, not one Cluster). A lock
   * is held when a quorum, `floor(N / 2) + 1`, granted it. Use an odd N ≥ 3.
   */
  clients?: readonly AnyRedisClient[];
  /**
   * The in-memory store: `true` for a private one, or a `createMemoryLockStore()` shared by
   * several `createLock()` calls of this process. The default when no client is given.
   */
  memory?: true | MemoryLockStore;
  /** Global key prefix (no braces). Keys are `<prefix>lock:{<sha256(resource)>}:owner|fence`. @default 'keel:' */
  prefix?: string;
  /** Deadline of each store call, ms; a missed one counts as the store being unavailable. @default 500 */
  deadlineMs?: number;
  /** Default lock TTL, ms. @default 10_000 */
  ttlMs?: number;
  /** Default retries of `acquire`. @default { attempts: 10, delayMs: 100, jitterMs: 100 } */
  retry?: RetryOptions;
  /**
   * Clock-drift allowance as a fraction of the TTL: validity is `ttlMs - elapsed - ttlMs ×
   * driftFactor - 2 ms`, as in the Redlock algorithm. @default 0.01
   */
  driftFactor?: number;
  /** Default watchdog pace of `withLock` (fraction of the TTL). @default 1/3 */
  renewRatio?: number;
  /** Circuit breaker of each Redis store (one per Redlock node), or `false`. @default core's defaults */
  breaker?: CircuitBreakerOptions | false;
  /** Receives `lock.*` and `store.*` events. */
  events?: KeelEvents | KeelEventListener;
  /**
   * Turn one-time warnings off by name (`redlockNodeCount`, `redlockSameNode`,
   * `evictionPolicy`), or all with `false`. @default true
   */
  warnings?: WarningSwitches;
  /**
   * Redis only: an acquisition is handed out once this many replicas of the node confirmed it
   * (`WAIT`, pipelined after the script), so a failover of a Sentinel or Cluster master never
   * grants the lock a second time. Short of it, the attempt counts as failed (retried, and the
   * grant released if the call gives up). A number, or `{ replicas, timeoutMs }`. @default 0
   */
  waitForReplicas?: number | { replicas: number; timeoutMs?: number };
  /**
   * Monotonic ms clock for validity. When given, the private memory store (`memory: true`) uses
   * it too, also as the floor of its fencing tokens. @default performance.now
   */
  clock?: () => number;
}

declare module '@keel/core' {
  interface KeelEventMap {
    /** A lock was taken. `attempts` counts tries including the successful one. */
    'lock.acquired': { resource: string; fencingToken: number; attempts: number };
    /** `acquire` gave up (the error it rejects with is in `error`). */
    'lock.failed': {
      resource: string;
      reason: 'busy' | 'quorum' | 'unavailable';
      attempts: number;
    };
    /** A held lock was extended (by `extend()` or the watchdog). */
    'lock.extended': { resource: string; fencingToken: number; ttlMs: number };
    /** A held lock was lost; its signal aborted. */
    'lock.lost': { resource: string; fencingToken: number; reason: LockLostReason };
    /** `release()` ran: `held` is false when the lock had already expired or been taken. */
    'lock.released': { resource: string; fencingToken: number; held: boolean };
  }
}
