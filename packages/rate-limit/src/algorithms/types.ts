/**
 * What every algorithm unit is: a pure function of (stored state, now, policy numbers, cost)
 * that returns a decision and the state to store if the check is committed. The memory store
 * calls these directly; `src/scripts/check-limits-n.lua` is a transliteration of the same
 * arithmetic, and a property test checks that both agree on random sequences.
 *
 * All quantities are integers (milliseconds, request units), and every intermediate value
 * stays below 2^53, so JavaScript and Redis's Lua (both IEEE doubles) compute identical
 * results. Fractional rates (3 requests per 1000 ms) are kept exact by scaling instead of
 * dividing: see each unit's notes.
 */

/**
 * `retryAfterMs` of a request whose cost exceeds the policy's capacity: it can never pass, so
 * no retry time is promised. An integer, so the Lua twin returns the same value on the wire.
 */
export const RETRY_NEVER = -1;

/**
 * The most a penalty may leave charged, in each unit's own scaled integers (a count × windowMs,
 * a bucket's debt, a TAT's distance): the bound that keeps every product below 2^53, as
 * `limit × windowMs ≤ 10^15` does for the limits themselves.
 */
export const MAX_SCALED = 1e15;

/** The numbers an algorithm needs from a policy; validated by the limiter. */
export interface PolicyLimits {
  /** Request units allowed per window (the refill rate's numerator for buckets). */
  readonly limit: number;
  /** Window length, ms (the refill rate's denominator for buckets). */
  readonly windowMs: number;
  /** Bucket capacity for `token-bucket` and `gcra` (equals `limit` for window algorithms). */
  readonly burst: number;
}

/** One policy's answer to one check. All values are integers. */
export interface AlgorithmDecision {
  readonly allowed: boolean;
  /** Units still available after this check (0 when exhausted). */
  readonly remaining: number;
  /** ms until the quota is whole again (the window ends, the bucket is full). */
  readonly resetMs: number;
  /**
   * ms until a request of the same cost would be allowed: 0 when allowed, at least 1 when not,
   * and {@link RETRY_NEVER} when no wait helps: the cost exceeds what the policy can ever
   * grant at once (its `limit`, or its `burst` for the bucket algorithms).
   */
  readonly retryAfterMs: number;
  /**
   * Identifies what was charged (window start/end, charge time), so a refund goes back to
   * that window or bucket and never into a later one. 0 when the algorithm needs none.
   */
  readonly receipt: number;
  /**
   * Set when a block decided the refusal: `ongoing`, the key was blocked already (retry when it
   * ends); `started`, this refusal started the policy's `blockDurationMs`. Absent otherwise.
   */
  readonly blocked?: 'ongoing' | 'started';
}

export interface AlgorithmResult<S> {
  readonly decision: AlgorithmDecision;
  /** The state to store when every policy of the check allowed it; `undefined` on a denial. */
  readonly next: S | undefined;
  /** Absolute time (ms) at which `next` may be forgotten: it then means "no usage". */
  readonly expiresAt: number;
}

/** The state after a refund, or `undefined` when there is nothing to give back. */
export interface RefundResult<S> {
  readonly next: S;
  readonly expiresAt: number;
}

export interface AlgorithmUnit<S> {
  /** The algorithm's option name. */
  readonly name: AlgorithmName;
  /** Its number in the Lua scripts' ARGV. */
  readonly code: number;
  /** Short tag in Redis keys, so switching algorithms never reads another one's state. */
  readonly keyTag: string;
  check(state: S | undefined, now: number, policy: PolicyLimits, cost: number): AlgorithmResult<S>;
  refund(
    state: S | undefined,
    now: number,
    policy: PolicyLimits,
    cost: number,
    receipt: number,
  ): RefundResult<S> | undefined;
  /**
   * Change the current window or bucket by `units` regardless of the limit: `units > 0` charges
   * them (a penalty: the quota may go below zero, down to {@link MAX_SCALED}), `units < 0` gives
   * them back (a reward: never below zero, never above the quota). `undefined`: nothing to change.
   */
  adjust(
    state: S | undefined,
    now: number,
    policy: PolicyLimits,
    units: number,
  ): RefundResult<S> | undefined;
}

/** The algorithms a policy can use. */
export type AlgorithmName =
  | 'fixed-window'
  | 'sliding-log'
  | 'sliding-window'
  | 'token-bucket'
  | 'gcra';
