/**
 * A repeating timer, injectable the way core's `Clock` is: Node's by default, a manual one in
 * tests, which fire its ticks themselves and so move time instead of sleeping.
 */

/** What `start` returned, to stop it with: Node's `Timeout`, or a manual timer's number. */
export type IntervalId = NodeJS.Timeout | number;

export interface IntervalTimer {
  /** Call `tick(arg)` every `everyMs` ms. The timer must not keep the process alive. */
  start<A>(tick: (arg: A) => void, everyMs: number, arg: A): IntervalId;
  stop(id: IntervalId): void;
}

/** Node's `setInterval`, unref'd: a background timer never keeps the process alive. */
export const nodeIntervalTimer: IntervalTimer = {
  start: (tick, everyMs, arg) => setInterval(tick, everyMs, arg).unref(),
  stop: (id) => clearInterval(id),
};
