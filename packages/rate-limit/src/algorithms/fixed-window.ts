/**
 * Fixed window: count units in a window that opens with the first request and lasts
 * `windowMs`; its end is set once and never moved by later requests (no window extension).
 *
 * Pro: the cheapest state (one counter and its end time), and the easiest to explain: "100 per
 * minute, resets at :xx". Same semantics as express-rate-limit's default.
 * Con: a client can spend `limit` at the end of one window and `limit` again at the start of
 * the next: up to twice the limit within `windowMs` around a boundary.
 *
 * State: `{ count, resetAt }` (resetAt: absolute ms). Receipt: `resetAt` of the charged window.
 */
import { type AlgorithmUnit, MAX_SCALED, RETRY_NEVER } from './types.js';

export interface FixedWindowState {
  readonly count: number;
  readonly resetAt: number;
}

export const fixedWindow: AlgorithmUnit<FixedWindowState> = {
  name: 'fixed-window',
  code: 1,
  keyTag: 'fw',
  check(state, now, { limit, windowMs }, cost) {
    let count = 0;
    let resetAt = now + windowMs;
    if (state !== undefined && state.resetAt > now) {
      count = state.count;
      resetAt = state.resetAt;
    }
    const resetMs = resetAt - now;
    if (count + cost <= limit) {
      return {
        decision: {
          allowed: true,
          remaining: limit - count - cost,
          resetMs,
          retryAfterMs: 0,
          receipt: resetAt,
        },
        next: { count: count + cost, resetAt },
        expiresAt: resetAt,
      };
    }
    return {
      decision: {
        allowed: false,
        remaining: Math.max(0, limit - count),
        resetMs,
        // The next window grants `limit` at most: a larger cost never passes.
        retryAfterMs: cost > limit ? RETRY_NEVER : resetMs,
        receipt: resetAt,
      },
      next: undefined,
      expiresAt: resetAt,
    };
  },
  refund(state, now, _policy, cost, receipt) {
    if (state === undefined || state.resetAt <= now || state.resetAt !== receipt) return undefined;
    return {
      next: { count: Math.max(0, state.count - cost), resetAt: state.resetAt },
      expiresAt: state.resetAt,
    };
  },
  adjust(state, now, { windowMs }, units) {
    const live = state !== undefined && state.resetAt > now;
    if (units < 0) {
      if (!live) return undefined;
      const next = { count: Math.max(0, state.count + units), resetAt: state.resetAt };
      return { next, expiresAt: state.resetAt };
    }
    const resetAt = live ? state.resetAt : now + windowMs;
    const count = Math.min(MAX_SCALED, (live ? state.count : 0) + units);
    return { next: { count, resetAt }, expiresAt: resetAt };
  },
};
