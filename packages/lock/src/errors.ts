/**
 * The lock's failures, one class per thing the caller can do something different about:
 *
 * | error | means | what to do |
 * | --- | --- | --- |
 * | {@link LockBusyError} | another owner holds the lock | retry after `retryAfterMs`, or skip the work |
 * | {@link LockQuorumError} | Redlock: too few nodes answered to decide | retry later; check the nodes |
 * | {@link LockUnavailableError} | the store did not answer, could not serve (OOM, BUSY, …), refused (NOPERM) or holds foreign data | retry later, or fix what `cause` names; the work did not start |
 * | {@link LockLostError} | a lock you held expired or was taken over | stop; anything not fenced is suspect |
 *
 * Codes are stable and never reused; the registry is {@link codes}.
 */
import { KeelError } from '@keel/core';

/** The registry of @keel/lock's error codes. Frozen: codes are part of the public API. */
export const codes = Object.freeze({
  LOCK_BUSY: 'KEEL_ERR_LOCK_BUSY',
  LOCK_QUORUM: 'KEEL_ERR_LOCK_QUORUM',
  LOCK_UNAVAILABLE: 'KEEL_ERR_LOCK_UNAVAILABLE',
  LOCK_LOST: 'KEEL_ERR_LOCK_LOST',
} as const);

export type LockErrorCode = (typeof codes)[keyof typeof codes];

/**
 * Another owner holds the lock, and the retries (if any) ran out. Nothing was acquired.
 * HTTP: 409, with `retryAfterMs` for a `Retry-After` header.
 */
export class LockBusyError extends KeelError {
  /** The resource name passed to `acquire`. */
  readonly resource: string;
  /** Attempts made before giving up. */
  readonly attempts: number;
  /**
   * How long the current holder's lock has left, ms, when the store said so (it may be
   * extended, so this is a hint for the next try, not a promise). `undefined` when unknown.
   */
  readonly retryAfterMs: number | undefined;

  constructor(resource: string, attempts: number, retryAfterMs?: number) {
    super(
      codes.LOCK_BUSY,
      `Lock "${resource}" is held by another owner (${attempts} attempt${attempts === 1 ? '' : 's'})` +
        (retryAfterMs === undefined ? '' : `; it expires in ${retryAfterMs} ms unless renewed`),
      { status: 409, title: 'Resource is locked' },
    );
    this.resource = resource;
    this.attempts = attempts;
    this.retryAfterMs = retryAfterMs;
  }
}

/** What each Redlock node answered in the attempt that failed. */
export interface QuorumTally {
  /** Nodes a lock is needed on: `floor(n / 2) + 1`. */
  readonly quorum: number;
  /** Nodes in the group. */
  readonly nodes: number;
  /** Nodes that granted the lock (released again, since the quorum was not reached). */
  readonly granted: number;
  /** Nodes on which another owner holds the lock. */
  readonly busy: number;
  /** Nodes that did not answer in time or failed. */
  readonly failed: number;
}

/**
 * Redlock: not enough nodes could be reached to take (or keep) the lock on a quorum, or the
 * quorum answered too late to leave any validity. Locks taken on a minority were released.
 * HTTP: 503. Retry later; if it persists, more than half of the nodes are down or slow.
 */
export class LockQuorumError extends KeelError {
  readonly resource: string;
  readonly tally: QuorumTally;
  /** One error per failed node (timeouts, refused connections), for logs. */
  readonly errors: readonly unknown[];

  constructor(resource: string, tally: QuorumTally, errors: readonly unknown[], why?: string) {
    super(
      codes.LOCK_QUORUM,
      `Lock "${resource}": no quorum (${tally.granted} of ${tally.nodes} nodes granted, ` +
        `${tally.quorum} needed; ${tally.busy} busy, ${tally.failed} failed)${why ? `: ${why}` : ''}`,
      { status: 503, title: 'Lock quorum not reached' },
    );
    this.resource = resource;
    this.tally = tally;
    this.errors = errors;
  }
}

/**
 * The lock store could not decide: a deadline passed, the client is closed or did not connect
 * in time, the circuit is open, the memory lock table is full, Redis cannot serve now (`OOM`,
 * `BUSY`, `LOADING`, `READONLY`, …), refused the call (`NOPERM`: core's
 * `StoreMisconfiguredError`, naming what is missing) or holds foreign data under the lock's
 * keys (`WRONGTYPE`: core's `StoreDataError`, naming the key family). For `acquire`, the work
 * must not start; retry later. HTTP: 503. `cause` holds core's store error.
 */
export class LockUnavailableError extends KeelError {
  readonly resource: string;
  readonly operation: 'acquire' | 'extend' | 'release';

  constructor(
    resource: string,
    operation: 'acquire' | 'extend' | 'release',
    cause: unknown,
    detail?: string,
  ) {
    super(
      codes.LOCK_UNAVAILABLE,
      `Lock "${resource}": ${operation} failed, the lock store is unavailable` +
        `: ${detail ?? (cause instanceof Error ? cause.message : String(cause))}`,
      { status: 503, title: 'Lock store unavailable', cause },
    );
    this.resource = resource;
    this.operation = operation;
  }
}

/**
 * Why a lock is not held any more:
 * - `expired`: its validity ran out (too short a TTL, a blocked event loop, failed renewals);
 * - `taken`: the store reports another owner now (it expired and someone acquired it);
 * - `released`: this process released it (only `extend()` after `release()` reports this).
 */
export type LockLostReason = 'expired' | 'taken' | 'released';

/**
 * A lock this process held is no longer held. This is the `reason` of the lock's `signal`, what
 * `extend()` rejects with, and what `withLock` rejects with when `fn` finished after the loss.
 * Whatever ran after the loss ran without mutual exclusion: only side effects checked with the
 * fencing token downstream are safe. HTTP: 409.
 */
export class LockLostError extends KeelError {
  readonly resource: string;
  readonly reason: LockLostReason;
  /** The fencing token of the lost lock: the one downstream checks must now reject. */
  readonly fencingToken: number;

  constructor(resource: string, reason: LockLostReason, fencingToken: number) {
    super(
      codes.LOCK_LOST,
      `Lock "${resource}" (fencing token ${fencingToken}) was lost: ` +
        (reason === 'expired'
          ? 'its validity ran out before it was renewed or released'
          : reason === 'taken'
            ? 'another owner holds it now'
            : 'it was released by this owner'),
      { status: 409, title: 'Lock lost' },
    );
    this.resource = resource;
    this.reason = reason;
    this.fencingToken = fencingToken;
  }
}
