import type { CircuitStateName } from './catalogue.js';

/**
 * The last circuit breaker state reported per feature, for observable gauges. A feature whose
 * store answered calls but never reported a transition is `closed`. Features are a handful of
 * fixed names, so the map stays tiny.
 */
export class CircuitStates {
  readonly #states = new Map<string, CircuitStateName>();

  /** A store call of `feature` happened: it has a breaker, closed unless told otherwise. */
  seen(feature: string): void {
    if (!this.#states.has(feature)) this.#states.set(feature, 'closed');
  }

  /** The breaker of `feature` entered `state`. */
  report(feature: string, state: CircuitStateName): void {
    this.#states.set(feature, state);
  }

  /** The state of `feature`, when one was seen. */
  get(feature: string): CircuitStateName | undefined {
    return this.#states.get(feature);
  }

  /** Every feature seen, with its state. */
  entries(): IterableIterator<[feature: string, state: CircuitStateName]> {
    return this.#states.entries();
  }
}
