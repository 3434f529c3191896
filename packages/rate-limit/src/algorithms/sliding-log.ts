/**
 * Sliding window log: remember the time of every unit spent; a unit counts while it is younger
 * than `windowMs`. Exact: never more than `limit` units within any `windowMs`.
 *
 * Pro: exact at every instant, no boundary effects, precise retry times.
 * Con: memory grows with the limit (one entry per unit: a sorted set on Redis), so it suits
 * small limits (logins, password resets), not 10,000 per hour. Limits above 100,000 are refused.
 *
 * State: the spend times, oldest first (one entry per unit). Receipt: the charge time.
 */
import { type AlgorithmUnit, RETRY_NEVER } from './types.js';

export type SlidingLogState = readonly number[];

/** Index of the first entry still inside the window (entries at or before `now - windowMs` are gone). */
function firstLive(state: SlidingLogState, now: number, windowMs: number): number {
  const cutoff = now - windowMs;
  let i = 0;
  while (i < state.length && state[i]! <= cutoff) i++;
  return i;
}

export const slidingLog: AlgorithmUnit<SlidingLogState> = {
  name: 'sliding-log',
  code: 2,
  keyTag: 'sl',
  check(state, now, { limit, windowMs }, cost) {
    const live = state === undefined ? [] : state.slice(firstLive(state, now, windowMs));
    const count = live.length;
    if (count + cost <= limit) {
      // A peek of cost 0 charges nothing: the log is whole once its newest entry has left.
      const resetMs = cost > 0 ? windowMs : count === 0 ? 0 : live[count - 1]! + windowMs - now;
      for (let i = 0; i < cost; i++) live.push(now);
      return {
        decision: {
          allowed: true,
          remaining: limit - count - cost,
          resetMs,
          retryAfterMs: 0,
          receipt: now,
        },
        next: live,
        expiresAt: now + windowMs,
      };
    }
    const resetMs = count === 0 ? 0 : live[count - 1]! + windowMs - now;
    // The (count + cost - limit)-th oldest entry must leave the window first; an empty window
    // holds `limit` units, so a larger cost never passes.
    const retryAfterMs =
      cost > limit ? RETRY_NEVER : live[count + cost - limit - 1]! + windowMs - now;
    return {
      decision: {
        allowed: false,
        remaining: Math.max(0, limit - count),
        resetMs,
        retryAfterMs,
        receipt: now,
      },
      next: undefined,
      expiresAt: now + resetMs,
    };
  },
  refund(state, now, { windowMs }, cost, receipt) {
    if (state === undefined || receipt <= now - windowMs) return undefined;
    const live = state.slice(firstLive(state, now, windowMs));
    let removed = 0;
    for (let i = live.length - 1; i >= 0 && removed < cost; i--) {
      if (live[i] === receipt) {
        live.splice(i, 1);
        removed++;
      }
    }
    if (removed === 0) return undefined;
    const newest = live.length === 0 ? now : live[live.length - 1]!;
    return { next: live, expiresAt: newest + windowMs };
  },
  adjust(state, now, { limit, windowMs }, units) {
    const live = state === undefined ? [] : state.slice(firstLive(state, now, windowMs));
    if (units < 0) {
      if (live.length === 0) return undefined;
      // The newest entries go first, as a refund's do.
      live.length = Math.max(0, live.length + units);
      const newest = live.length === 0 ? now : live[live.length - 1]!;
      return { next: live, expiresAt: newest + windowMs };
    }
    // Entries stamped now all leave together: beyond `limit` of them, more refuse no longer.
    for (let i = Math.min(units, limit); i > 0; i--) live.push(now);
    return { next: live, expiresAt: now + windowMs };
  },
};
