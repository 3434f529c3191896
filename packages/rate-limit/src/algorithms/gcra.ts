/**
 * GCRA, the generic cell rate algorithm (the leaky bucket as a meter, as redis-cell and
 * throttled use it): each key stores one number, the theoretical arrival time (TAT) of the
 * next request. A request of cost `c` moves it to `max(TAT, now) + c × T`, where the emission
 * interval `T = windowMs / limit`, and is allowed while that stays within `burst × T` of now.
 * Written in plain Lua (no Redis module), so it runs on any managed Redis or Valkey.
 *
 * Pro: one timestamp of state, O(1); smooth rate with a configurable burst; its decisions are
 * exactly a token bucket's (capacity `burst`, refill `limit` per `windowMs`) with half the state.
 * Con: "remaining" and "reset" are derived from the TAT, not counted, and the idea is less
 * familiar than a window.
 *
 * Exactness: `T` is usually fractional (1000 ms / 3), so the TAT is kept as `at + frac / limit`
 * ms with integers `at` and `0 <= frac < limit`. Distances from now are computed in units of
 * 1/limit ms (`d = (at − now) × limit + frac`), where `T` is exactly `windowMs` units.
 *
 * State: `{ at, frac }`. Receipt: none (0).
 */
import { type AlgorithmUnit, MAX_SCALED, RETRY_NEVER } from './types.js';

export interface GcraState {
  readonly at: number;
  readonly frac: number;
}

/** How far the TAT is ahead of now, in 1/limit ms (0 when it is in the past). */
function aheadOf(state: GcraState | undefined, now: number, limit: number): number {
  if (state === undefined || state.at < now) return 0;
  return Math.max(0, (state.at - now) * limit + state.frac);
}

/** The state whose TAT is `d` units (1/limit ms) after now. */
function stateAt(now: number, d: number, limit: number): GcraState {
  const whole = Math.floor(d / limit);
  return { at: now + whole, frac: d - whole * limit };
}

export const gcra: AlgorithmUnit<GcraState> = {
  name: 'gcra',
  code: 5,
  keyTag: 'gcra',
  check(state, now, { limit, windowMs, burst }, cost) {
    const d = aheadOf(state, now, limit);
    const tolerance = burst * windowMs;
    const after = d + cost * windowMs;
    if (after <= tolerance) {
      const resetMs = Math.ceil(after / limit);
      return {
        decision: {
          allowed: true,
          remaining: Math.floor((tolerance - after) / windowMs),
          resetMs,
          retryAfterMs: 0,
          receipt: 0,
        },
        next: stateAt(now, after, limit),
        expiresAt: now + resetMs,
      };
    }
    const resetMs = Math.ceil(d / limit);
    return {
      decision: {
        allowed: false,
        remaining: Math.max(0, Math.floor((tolerance - d) / windowMs)),
        resetMs,
        // A full bucket holds `burst`: a larger cost never passes.
        retryAfterMs: cost > burst ? RETRY_NEVER : Math.ceil((after - tolerance) / limit),
        receipt: 0,
      },
      next: undefined,
      expiresAt: now + resetMs,
    };
  },
  refund(state, now, { limit, windowMs }, cost) {
    if (state === undefined) return undefined;
    const d = Math.max(0, aheadOf(state, now, limit) - cost * windowMs);
    return { next: stateAt(now, d, limit), expiresAt: now + Math.ceil(d / limit) };
  },
  adjust(state, now, { limit, windowMs, burst }, units) {
    if (units < 0 && state === undefined) return undefined;
    const moved = aheadOf(state, now, limit) + units * windowMs;
    const d = units < 0 ? Math.max(0, moved) : Math.min(burst * windowMs + MAX_SCALED, moved);
    return { next: stateAt(now, d, limit), expiresAt: now + Math.ceil(d / limit) };
  },
};
