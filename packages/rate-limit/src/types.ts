/**
 * The shapes shared by the limiter, the stores and the adapters.
 */
import type { AlgorithmDecision, AlgorithmName } from './algorithms/types.js';

export type { AlgorithmDecision, AlgorithmName, PolicyLimits } from './algorithms/types.js';

/** One policy of one check, as a store sees it: validated numbers and where to keep state. */
export interface StorePolicy {
  /** Key parts after the client's hash tag, e.g. `['api', 'burst', 'gcra']`. Never user text. */
  readonly keyParts: readonly string[];
  readonly algorithm: AlgorithmName;
  /** Units per window (integer >= 1). */
  readonly limit: number;
  /** ms (integer >= 1). */
  readonly windowMs: number;
  /** Bucket capacity (integer >= 1); equals `limit` for window algorithms. */
  readonly burst: number;
  /**
   * Once this policy refuses a check (for want of units, not for a cost above its capacity),
   * the key is refused for this long, ms, then whole again. 0 or absent: no block.
   */
  readonly blockDurationMs?: number;
}

/** A check: charge `cost` units against every policy, all or none. */
export interface StoreCheck {
  /** The client key (IP key, user id…). Stores hash it before it enters a Redis key. */
  readonly clientKey: string;
  /** Units to charge (an integer >= 1; 0 only with `dryRun`). */
  readonly cost: number;
  readonly policies: readonly StorePolicy[];
  /** Decide as a check would, and write nothing: no charge, no block started (a peek). */
  readonly dryRun?: boolean;
}

/** Charge (`units > 0`) or give back (`units < 0`) units regardless of the limits. */
export interface StoreAdjust {
  readonly clientKey: string;
  /** A non-zero integer: a penalty when positive, a reward when negative. */
  readonly units: number;
  readonly policies: readonly StorePolicy[];
}

/** Refuse a key under these policies for `durationMs`, whatever their counters say. */
export interface StoreBlock {
  readonly clientKey: string;
  readonly policies: readonly StorePolicy[];
  /** ms (integer >= 1). */
  readonly durationMs: number;
}

/** Give `cost` units back to the windows/buckets a check charged (`receipts` from its result). */
export interface StoreRefund extends StoreCheck {
  readonly receipts: readonly number[];
}

/** What a store answers: one decision per policy, in the order of the check. */
export interface StoreCheckResult {
  /** True when every policy allowed the check, and all were charged. */
  readonly allowed: boolean;
  /**
   * One per policy. On a refused check nothing was charged, so a policy that would have
   * allowed it reports the units it still has (`remaining` before the check).
   */
  readonly decisions: readonly AlgorithmDecision[];
}

/**
 * Where counters live. Every method is async (a memory store answers at once, but callers
 * never need to know which store they have). Implementations: `createMemoryStore()`,
 * `createRedisStore()`.
 */
export interface RateLimitStore {
  /** `memory` or `redis`, for events and warnings. */
  readonly kind: string;
  /** True when counters live in this process (a deny cache would gain nothing). */
  readonly localKeys: boolean;
  /** Check and charge, atomically across the check's policies. */
  check(check: StoreCheck): Promise<StoreCheckResult>;
  /** Give units back; never below zero, never into a later window. */
  refund(refund: StoreRefund): Promise<void>;
  /** Forget a client's state for these policies, blocks included (an administrator's "unblock"). */
  reset(check: Pick<StoreCheck, 'clientKey' | 'policies'>): Promise<void>;
  /**
   * Penalize or reward a key (`penalize()`, `reward()`): one atomic step over its policies. A
   * block is left as it is. Optional for stores written before it (the limiter says so).
   */
  adjust?(adjustment: StoreAdjust): Promise<void>;
  /** Block a key (`block()`): one atomic step over its policies. Optional, as `adjust`. */
  block?(block: StoreBlock): Promise<void>;
}
