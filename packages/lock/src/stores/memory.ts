/**
 * The in-memory lock store: the same statuses and semantics as the Lua scripts, for
 * single-process apps and tests. Bounded (`maxLocks`), expiry on an injectable monotonic
 * clock; expired locks are swept by core's unref'd timer (it never keeps the process alive).
 *
 * Fencing tokens come from one counter for the whole store rather than one per resource: they
 * are still strictly increasing per resource, and the store needs no per-resource state that
 * outlives a lock. Like the Lua script, a new store's first token is the clock in microseconds,
 * `clock() × 1000`, and later ones `max(counter + 1, clock() in whole 100 ms × 1000)`: the
 * default clock counts from the epoch, so a process that restarts (and loses this store) still
 * issues tokens above those of its previous life, which downstream stores may have recorded.
 */
import { ExpiringMap, optionNames, StoreUnavailableError, validatorFor } from '@keel/core';
import { type AcquireReply, type HoldStatus, ScriptStatus } from '../status.js';
import type { LockStore } from '../store.js';

/** Options of {@link MemoryLockStore}. */
export interface MemoryLockStoreOptions {
  /** Most locks held at once; acquiring beyond it fails with `LockUnavailableError`. @default 10_000 */
  maxLocks?: number;
  /**
   * Monotonic ms clock for expiry, and the floor of fencing tokens (see the class comment). Pass
   * core's `createManualClock()` in tests. A clock that does not count from the epoch (plain
   * `performance.now`) still gives rising tokens within the process, but not across restarts.
   * @default performance.timeOrigin + performance.now(): epoch ms that never step back
   */
  clock?: () => number;
}

const KNOWN = optionNames<MemoryLockStoreOptions>({ maxLocks: true, clock: true });

/** Epoch milliseconds on the monotonic clock: unlike `Date.now()`, never steps back with NTP. */
const epochMonotonic = () => performance.timeOrigin + performance.now();

interface Held {
  token: string;
  fence: number;
}

/** The in-memory {@link LockStore}; create one with {@link createMemoryLockStore}. */
export class MemoryLockStore implements LockStore {
  readonly name = 'memory';
  /** Most locks held at once. @default 10_000 */
  readonly maxLocks: number;
  readonly #clock: () => number;
  readonly #locks: ExpiringMap<string, Held>;
  #fence = 0;

  constructor(options: MemoryLockStoreOptions = {}) {
    const v = validatorFor('createMemoryLockStore');
    v.knownOptions(options, KNOWN);
    this.maxLocks = v.positiveInteger('maxLocks', options.maxLocks, 10_000);
    this.#clock = v.func<() => number>('clock', options.clock, epochMonotonic);
    // A live lock is never evicted to make room: that would hand it to a second owner.
    this.#locks = new ExpiringMap({
      maxEntries: this.maxLocks,
      evictLive: false,
      clock: this.#clock,
    });
  }

  /** Locks currently held (expired ones met on the way are dropped). */
  get size(): number {
    let live = 0;
    for (const _ of this.#locks.entries()) live++;
    return live;
  }

  async acquire(resource: string, token: string, ttlMs: number): Promise<AcquireReply> {
    const now = this.#clock();
    const held = this.#locks.entry(resource);
    if (held?.value.token === token) {
      this.#locks.expire(resource, now + ttlMs);
      return { status: ScriptStatus.ALREADY_OURS, fence: held.value.fence, ttlMs };
    }
    if (held) {
      return { status: ScriptStatus.BUSY, fence: 0, ttlMs: Math.ceil(held.expiresAt - now) };
    }
    const fence =
      this.#fence === 0
        ? Math.floor(now * 1000)
        : Math.max(this.#fence + 1, Math.floor(now / 100) * 100_000);
    if (!this.#locks.set(resource, { token, fence }, now + ttlMs)) {
      throw new StoreUnavailableError(
        'lock.acquire',
        `the memory lock table is full (maxLocks ${this.maxLocks} live locks)`,
      );
    }
    this.#fence = fence;
    return { status: ScriptStatus.OK, fence, ttlMs };
  }

  async extend(resource: string, token: string, ttlMs: number): Promise<HoldStatus> {
    const status = this.#holdStatus(resource, token);
    if (status === ScriptStatus.OK) this.#locks.expire(resource, this.#clock() + ttlMs);
    return status;
  }

  async release(resource: string, token: string): Promise<HoldStatus> {
    const status = this.#holdStatus(resource, token);
    if (status === ScriptStatus.OK) this.#locks.delete(resource);
    return status;
  }

  async raiseFence(_resource: string, fence: number): Promise<number> {
    if (fence > this.#fence) this.#fence = fence;
    return this.#fence;
  }

  #holdStatus(resource: string, token: string): HoldStatus {
    const held = this.#locks.get(resource);
    if (!held) return ScriptStatus.ABSENT;
    return held.token === token ? ScriptStatus.OK : ScriptStatus.OTHER_OWNER;
  }
}

/**
 * An in-memory lock store to share between several `createLock({ memory: store })` calls of one
 * process (each `memory: true` gets a private one).
 */
export function createMemoryLockStore(options: MemoryLockStoreOptions = {}): MemoryLockStore {
  return new MemoryLockStore(options);
}
