/**
 * Single flight in this process: the first caller of a key fills, the others await its
 * outcome (at most `waitMs`). Keys are namespaced by what a flight carries (`d\n` data values,
 * `h\n` HTTP outcomes).
 */

export const TIMED_OUT: unique symbol = Symbol('timed out');

/** An in-process single flight: the first caller fills, the others await `result`. */
export class Flight<T> {
  readonly result: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  constructor(
    readonly id: string,
    readonly tags: readonly string[],
  ) {
    this.result = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Waiters may have gone (timed out); a rejection nobody awaits must not crash the process.
    this.result.catch(() => {});
  }
}

/**
 * What the table needs of a flight, whatever it carries: a `Flight<T>` is one of these for
 * every `T`, so storing and ending flights takes no cast.
 */
type FlightEntry = Pick<Flight<unknown>, 'id' | 'tags'>;

export class Flights {
  readonly #waitMs: number;
  readonly #table = new Map<string, FlightEntry>();

  constructor(waitMs: number) {
    this.#waitMs = waitMs;
  }

  /**
   * The flight in progress under `key`, if any. The key's namespace says what it carries, so
   * the caller names the `T` it was started with.
   */
  get<T>(key: string): Flight<T> | undefined {
    return this.#table.get(key) as Flight<T> | undefined;
  }

  start<T>(key: string, id: string, tags: readonly string[]): Flight<T> {
    const flight = new Flight<T>(id, tags);
    this.#table.set(key, flight);
    return flight;
  }

  /** Forget `flight` (not a newer one under the same key). */
  end<T>(key: string, flight: Flight<T>): void {
    if (this.#table.get(key) === flight) this.#table.delete(key);
  }

  /** Forget the flights of primaries `ids` or carrying one of `tags`: new callers must not join them. */
  drop(ids: readonly string[], tags: readonly string[]): void {
    for (const [key, flight] of this.#table) {
      if (ids.includes(flight.id) || flight.tags.some((tag) => tags.includes(tag))) {
        this.#table.delete(key);
      }
    }
  }

  /** Await another caller's flight, at most `waitMs`. */
  async wait<T>(flight: Flight<T>): Promise<T | typeof TIMED_OUT> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.#waitMs);
    });
    try {
      return await Promise.race([flight.result, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
