/**
 * One small hook interface every feature emits through. An OpenTelemetry or prom-client
 * adapter is a listener; features never know about metrics libraries.
 *
 * Feature packages add their event names by augmenting {@link KeelEventMap}:
 *
 * ```ts
 * declare module '@keel/core' {
 *   interface KeelEventMap { 'rate-limit.limited': { key: string; policy: string } }
 * }
 * ```
 */

/** Attributes of each event, by name. Feature packages augment this interface. */
export interface KeelEventMap {
  /** A one-time warning about a risky but legal setup (see {@link Warnings}). */
  'keel.warning': { warning: string; message: string };
  /** A store call finished (successfully or not); `durationMs` carries its latency. */
  'store.call': { feature: string; operation: string; outcome: 'ok' | 'error' | 'timeout' };
  /**
   * A store call that had been given up on (deadline) succeeded late, and its effect was undone
   * (`ok`) or could not be (`error`).
   */
  'store.compensated': { feature: string; operation: string; outcome: 'ok' | 'error' };
  /** The Redis client reported an error (connection refused, reset…). */
  'store.client-error': { message: string };
  /** The circuit breaker changed state. */
  'store.circuit': { feature: string; state: 'open' | 'half-open' | 'closed' };
}

export type KeelEventName = keyof KeelEventMap;

/** One emitted event of name `N`. */
export interface KeelEventOf<N extends KeelEventName> {
  name: N;
  attributes: KeelEventMap[N];
  /** Latency of the store call this event reports, in milliseconds, when there is one. */
  durationMs?: number;
  /** The error behind a failure event. */
  error?: unknown;
  /** Wall-clock time of emission (ms since epoch), for logs only. */
  time: number;
}

/**
 * Any event: a union discriminated by `name`, so `if (event.name === 'lock.lost')` narrows
 * `event.attributes` to that event's attributes.
 */
export type KeelEvent = { [N in KeelEventName]: KeelEventOf<N> }[KeelEventName];

export type KeelEventListener = (event: KeelEvent) => void;

/** What features emit through. Listener errors are swallowed: telemetry never breaks a request. */
export interface KeelEvents {
  emit<N extends KeelEventName>(
    name: N,
    attributes: KeelEventMap[N],
    extra?: { durationMs?: number; error?: unknown },
  ): void;
  /** Subscribe; returns the unsubscribe function. */
  on(listener: KeelEventListener): () => void;
  /** True when anybody listens, so hot paths can skip building attributes. */
  readonly active: boolean;
}

export function createEvents(...initial: KeelEventListener[]): KeelEvents {
  const listeners = new Set<KeelEventListener>(initial);
  return {
    get active() {
      return listeners.size > 0;
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(name, attributes, extra) {
      if (listeners.size === 0) return;
      const event: KeelEvent = { name, attributes, time: Date.now() } as KeelEvent;
      if (extra?.durationMs !== undefined) event.durationMs = extra.durationMs;
      if (extra?.error !== undefined) event.error = extra.error;
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // A broken listener must not turn into a failed request.
        }
      }
    },
  };
}

/** Accepts either a ready `KeelEvents` or a bare listener function, as options usually do. */
export function toEvents(option: KeelEvents | KeelEventListener | undefined): KeelEvents {
  if (option === undefined) return createEvents();
  if (typeof option === 'function') return createEvents(option);
  return option;
}
