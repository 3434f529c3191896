/**
 * Token bucket: a bucket of `burst` tokens (default `limit`) that refills continuously at
 * `limit` tokens per `windowMs`; a request takes `cost` tokens or is refused.
 *
 * Pro: allows short bursts up to the capacity while holding the long-run rate; refunds are
 * natural (tokens go back, capped at the capacity: the same as if the request never happened).
 * Con: two numbers of state per key; "remaining" grows back continuously, which some clients
 * find harder to read than a window that resets.
 *
 * Exactness without drift: the level is kept in units of 1/windowMs token, so a refill of
 * `limit` tokens per `windowMs` adds exactly `limit` units per ms: `level += elapsed × limit`,
 * all integers, however odd the rate (3 per 1000 ms). No fractional token is ever rounded away.
 *
 * State: `{ level, last }` (level in 1/windowMs tokens, last: ms). Receipt: none (0).
 */
import { type AlgorithmUnit, MAX_SCALED, type PolicyLimits, RETRY_NEVER } from './types.js';

export interface TokenBucketState {
  readonly level: number;
  readonly last: number;
}

/** The level refilled up to `now`. */
function levelAt(state: TokenBucketState | undefined, now: number, p: PolicyLimits): number {
  const full = p.burst * p.windowMs;
  if (state === undefined) return full;
  // Bound the elapsed time by the time to fill up from this level (below 0 after a penalty),
  // so the product stays below 2^53.
  const elapsed = Math.min(
    Math.max(0, now - state.last),
    Math.ceil((full - state.level) / p.limit),
  );
  return Math.min(full, state.level + elapsed * p.limit);
}

export const tokenBucket: AlgorithmUnit<TokenBucketState> = {
  name: 'token-bucket',
  code: 4,
  keyTag: 'tb',
  check(state, now, policy, cost) {
    const { limit, windowMs, burst } = policy;
    const full = burst * windowMs;
    const level = levelAt(state, now, policy);
    const need = cost * windowMs;
    if (level >= need) {
      const after = level - need;
      const resetMs = Math.ceil((full - after) / limit);
      return {
        decision: {
          allowed: true,
          remaining: Math.floor(after / windowMs),
          resetMs,
          retryAfterMs: 0,
          receipt: 0,
        },
        next: { level: after, last: now },
        expiresAt: now + resetMs,
      };
    }
    const resetMs = Math.ceil((full - level) / limit);
    return {
      decision: {
        allowed: false,
        remaining: Math.max(0, Math.floor(level / windowMs)),
        resetMs,
        // A full bucket holds `burst`: a larger cost never passes.
        retryAfterMs: cost > burst ? RETRY_NEVER : Math.ceil((need - level) / limit),
        receipt: 0,
      },
      next: undefined,
      expiresAt: now + resetMs,
    };
  },
  refund(state, now, policy, cost) {
    if (state === undefined) return undefined;
    const full = policy.burst * policy.windowMs;
    const level = Math.min(full, levelAt(state, now, policy) + cost * policy.windowMs);
    return {
      next: { level, last: now },
      expiresAt: now + Math.ceil((full - level) / policy.limit),
    };
  },
  adjust(state, now, policy, units) {
    if (units < 0 && state === undefined) return undefined;
    const full = policy.burst * policy.windowMs;
    const moved = levelAt(state, now, policy) - units * policy.windowMs;
    const level = units < 0 ? Math.min(full, moved) : Math.max(full - MAX_SCALED, moved);
    return {
      next: { level, last: now },
      expiresAt: now + Math.ceil((full - level) / policy.limit),
    };
  },
};
