/**
 * Blocks: a key refused for a set time, whatever its counters say — `block(key, durationMs)`,
 * or a policy's `blockDurationMs` once it refuses a check (brute-force protection: "10 failed
 * logins, then 15 minutes of nothing"). A block takes the place of the policy's own state, so
 * when it ends the key is whole again, and reading a key that is not blocked costs nothing
 * extra. The memory store runs these functions around the algorithm units;
 * `src/scripts/check-limits-n.lua` does the same inline (the property test compares them).
 */
import type { StorePolicy } from '../types.js';
import { algorithmUnit } from './index.js';
import { type AlgorithmDecision, RETRY_NEVER, type RefundResult } from './types.js';

/** A block in place of a policy's state: refused until `until` (absolute ms), then whole. */
export class BlockState {
  constructor(readonly until: number) {}
}

/** One policy's answer to a check, with the block it starts (stored although nothing is charged). */
export interface PolicyStep {
  readonly decision: AlgorithmDecision;
  /** The state to store when every policy of the check allowed it. */
  readonly next: unknown;
  /** Absolute time (ms) at which `next` (or `block`) may be forgotten. */
  readonly expiresAt: number;
  /** Set when this refusal starts the policy's `blockDurationMs`. */
  readonly block?: BlockState;
}

/** Check one policy: an ongoing block refuses; else the algorithm, and a block if it refuses. */
export function checkPolicy(
  state: unknown,
  now: number,
  policy: StorePolicy,
  cost: number,
): PolicyStep {
  let held: number | undefined;
  if (state instanceof BlockState) {
    // A lapsed block is no state at all: the key is whole again.
    if (state.until > now) held = state.until;
    state = undefined;
  }
  const result = algorithmUnit(policy.algorithm).check(state, now, policy, cost);
  const d = result.decision;
  if (held !== undefined) {
    const left = held - now;
    // A cost above the capacity stays refused for good, blocked or not.
    const retryAfterMs = cost > policy.burst ? RETRY_NEVER : left;
    const decision = { ...d, allowed: false, remaining: 0, resetMs: left, retryAfterMs };
    return {
      decision: { ...decision, blocked: 'ongoing' },
      next: undefined,
      expiresAt: held,
    };
  }
  const blockMs = policy.blockDurationMs;
  if (d.allowed || !blockMs || d.retryAfterMs === RETRY_NEVER) return result;
  return {
    decision: { ...d, remaining: 0, resetMs: blockMs, retryAfterMs: blockMs, blocked: 'started' },
    next: undefined,
    expiresAt: now + blockMs,
    block: new BlockState(now + blockMs),
  };
}

/** A charged check's refund; a block has nothing of the check's to give back. */
export function refundPolicy(
  state: unknown,
  now: number,
  policy: StorePolicy,
  cost: number,
  receipt: number,
): RefundResult<unknown> | undefined {
  if (state instanceof BlockState) return undefined;
  return algorithmUnit(policy.algorithm).refund(state, now, policy, cost, receipt);
}

/** A penalty (`units > 0`) or reward (`units < 0`); neither changes a block. */
export function adjustPolicy(
  state: unknown,
  now: number,
  policy: StorePolicy,
  units: number,
): RefundResult<unknown> | undefined {
  if (state instanceof BlockState) {
    if (state.until > now) return undefined;
    state = undefined;
  }
  return algorithmUnit(policy.algorithm).adjust(state, now, policy, units);
}
