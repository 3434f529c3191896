/**
 * Sliding window counter: windows aligned on multiples of `windowMs`; the previous window's
 * count is weighted by how much of it still overlaps the sliding window ending now:
 * `estimate = previous × (windowMs − elapsed) / windowMs + current`.
 *
 * Pro: O(1) memory (two counters), smooth (no double burst at boundaries), a good default.
 * Con: an approximation that assumes the previous window's requests were spread evenly;
 * reset and retry times are computed from that estimate.
 *
 * Exactness: the comparison is done multiplied by `windowMs`, in integers:
 * `previous × (windowMs − elapsed) + (current + cost) × windowMs ≤ limit × windowMs`.
 *
 * State: `{ start, current, previous }` (start: absolute ms of the current window).
 * Receipt: the start of the window that was charged.
 */
import { type AlgorithmUnit, MAX_SCALED, type PolicyLimits, RETRY_NEVER } from './types.js';

export interface SlidingWindowState {
  readonly start: number;
  readonly current: number;
  readonly previous: number;
}

/** The state rolled forward to the window containing `now`. */
function roll(
  state: SlidingWindowState | undefined,
  now: number,
  windowMs: number,
): SlidingWindowState {
  const start = now - (now % windowMs);
  if (state === undefined) return { start, current: 0, previous: 0 };
  if (state.start === start) return state;
  if (state.start === start - windowMs) return { start, current: 0, previous: state.current };
  return { start, current: 0, previous: 0 };
}

function resetOf(s: SlidingWindowState, now: number, windowMs: number): number {
  if (s.current > 0) return s.start + 2 * windowMs - now;
  if (s.previous > 0) return s.start + windowMs - now;
  return 0;
}

function retryOf(
  s: SlidingWindowState,
  now: number,
  { limit, windowMs }: PolicyLimits,
  cost: number,
): number {
  const elapsed = now - s.start;
  if (s.current + cost <= limit) {
    // Only the previous window's weight is in the way: wait until it has decayed enough.
    const room = (limit - s.current - cost) * windowMs;
    return windowMs - Math.floor(room / s.previous) - elapsed;
  }
  if (cost <= limit) {
    // The current window becomes the previous one; wait into the next window as needed.
    const room = (limit - cost) * windowMs;
    return windowMs - elapsed + Math.max(0, windowMs - Math.floor(room / s.current));
  }
  // A whole empty window holds `limit` units: a larger cost never passes.
  return RETRY_NEVER;
}

export const slidingWindow: AlgorithmUnit<SlidingWindowState> = {
  name: 'sliding-window',
  code: 3,
  keyTag: 'sw',
  check(state, now, policy, cost) {
    const { limit, windowMs } = policy;
    const s = roll(state, now, windowMs);
    const elapsed = now - s.start;
    const used = s.previous * (windowMs - elapsed) + s.current * windowMs;
    const capacity = limit * windowMs;
    if (used + cost * windowMs <= capacity) {
      const next = { start: s.start, current: s.current + cost, previous: s.previous };
      return {
        decision: {
          allowed: true,
          remaining: Math.floor((capacity - used - cost * windowMs) / windowMs),
          resetMs: resetOf(next, now, windowMs),
          retryAfterMs: 0,
          receipt: s.start,
        },
        next,
        expiresAt: s.start + 2 * windowMs,
      };
    }
    return {
      decision: {
        allowed: false,
        remaining: Math.max(0, Math.floor((capacity - used) / windowMs)),
        resetMs: resetOf(s, now, windowMs),
        retryAfterMs: retryOf(s, now, policy, cost),
        receipt: s.start,
      },
      next: undefined,
      expiresAt: s.start + 2 * windowMs,
    };
  },
  refund(state, now, { windowMs }, cost, receipt) {
    if (state === undefined) return undefined;
    const s = roll(state, now, windowMs);
    let next: SlidingWindowState;
    if (receipt === s.start) {
      next = { start: s.start, current: Math.max(0, s.current - cost), previous: s.previous };
    } else if (receipt === s.start - windowMs) {
      next = { start: s.start, current: s.current, previous: Math.max(0, s.previous - cost) };
    } else {
      return undefined;
    }
    return { next, expiresAt: s.start + 2 * windowMs };
  },
  adjust(state, now, { windowMs }, units) {
    if (units < 0 && state === undefined) return undefined;
    const s = roll(state, now, windowMs);
    if (units > 0) {
      const current = Math.min(Math.floor(MAX_SCALED / windowMs), s.current + units);
      return { next: { ...s, current }, expiresAt: s.start + 2 * windowMs };
    }
    // A reward empties the current window first, then the previous one.
    const current = Math.max(0, s.current + units);
    const previous = Math.max(0, s.previous + units + (s.current - current));
    return { next: { start: s.start, current, previous }, expiresAt: s.start + 2 * windowMs };
  },
};
