import type { KeelEventListener, KeelEvents } from '@keel/core';

/** One listener attached to any number of event sources, all detachable at once. */
export class Subscriptions {
  readonly #detachers = new Set<() => void>();

  constructor(private readonly listener: KeelEventListener) {}

  /** Listen to `events` too; returns the function that stops listening to it. */
  attach(events: KeelEvents): () => void {
    const off = events.on(this.listener);
    const detach = () => {
      off();
      this.#detachers.delete(detach);
    };
    this.#detachers.add(detach);
    return detach;
  }

  /** Stop listening everywhere. */
  detachAll(): void {
    for (const detach of [...this.#detachers]) detach();
  }
}
