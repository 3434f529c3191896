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
}

/** A check: charge `cost` units against every policy, all or none. */
export interface StoreCheck {
  /** The client key (IP key, user id…). Stores hash it before it enters a Redis key. */
  readonly clientKey: string;
  readonly cost: number;
  readonly policies: readonly StorePolicy[];
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
  /** Forget a client's state for these policies (an administrator's "unblock"). */
  reset(check: Pick<StoreCheck, 'clientKey' | 'policies'>): Promise<void>;
}
