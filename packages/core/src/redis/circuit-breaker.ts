/**
 * A circuit breaker in front of a store: after `failureThreshold` consecutive failures it opens
 * and fails calls at once for `openMs`, so a dead Redis is not hammered and requests do not
 * each wait out a deadline. Then it lets one probe through (half-open): success closes it,
 * failure opens it again.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. @default 5 */
  failureThreshold?: number;
  /** How long the circuit stays open before a probe is allowed, ms. @default 1000 */
  openMs?: number;
  /** Clock in ms; injectable for tests. @default performance.now */
  now?: () => number;
  /** Called on every state change. */
  onStateChange?: (state: CircuitState) => void;
}

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly openMs: number;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probeInFlight = false;
  readonly #now: () => number;
  readonly #onStateChange: ((state: CircuitState) => void) | undefined;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.openMs = options.openMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
    this.#onStateChange = options.onStateChange;
  }

  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.openMs) {
      this.#transition('half-open');
    }
    return this.#state;
  }

  /**
   * May a call go through now? In half-open state only one probe is let through at a time;
   * the caller must then report `success()` or `failure()`.
   */
  tryPass(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#probeInFlight) return false;
    this.#probeInFlight = true;
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#probeInFlight = false;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  failure(): void {
    this.#probeInFlight = false;
    this.#failures++;
    if (this.#state === 'half-open' || this.#failures >= this.failureThreshold) {
      this.#openedAt = this.#now();
      if (this.#state !== 'open') this.#transition('open');
    }
  }

  #transition(state: CircuitState): void {
    this.#state = state;
    this.#onStateChange?.(state);
  }
}
