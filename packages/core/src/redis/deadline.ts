/**
 * A per-call deadline that does not depend on ioredis's retry or timeout settings (which the
 * application may have tuned for other purposes). The command itself is not cancelled — Redis
 * has no cancellation — but the caller stops waiting and applies its failure policy.
 */
import { StoreTimeoutError } from '../errors.js';

export function withDeadline<T>(
  promise: Promise<T>,
  deadlineMs: number,
  operation: string,
  /** The deadline named in the error, when `deadlineMs` is what is left of a longer one. */
  reportedMs = deadlineMs,
): Promise<T> {
  if (!Number.isFinite(deadlineMs)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StoreTimeoutError(operation, reportedMs)),
      deadlineMs,
    );
    // A pending deadline must not keep the process alive on shutdown.
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

interface PendingDeadline {
  /** Local time (`localNow()`) at which the call is given up on. */
  readonly at: number;
  readonly expire: () => void;
  done: boolean;
}

/**
 * The deadlines of one store caller, with one timer for all of them instead of a `setTimeout`
 * and `clearTimeout` per call (the largest Node cost of a guarded call). A caller's deadlines
 * arrive in order — each is its start plus the same `deadlineMs` — so a FIFO suffices: the
 * timer waits for the oldest open deadline, and calls that answered in time are skipped.
 */
export class DeadlineQueue {
  #queue: PendingDeadline[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** `promise`, or `StoreTimeoutError` if it has not settled by local time `at`. */
  race<T>(promise: Promise<T>, at: number, deadlineMs: number, operation: string): Promise<T> {
    const last = this.#queue[this.#queue.length - 1];
    // A call that waited (for a connection) before sending can end before calls queued after
    // it started: it keeps a timer of its own rather than break the queue's order.
    if (last && !last.done && at < last.at) {
      return withDeadline(promise, Math.max(0, at - this.#now()), operation, deadlineMs);
    }
    return new Promise<T>((resolve, reject) => {
      const entry: PendingDeadline = {
        at,
        done: false,
        expire: () => reject(new StoreTimeoutError(operation, deadlineMs)),
      };
      this.#queue.push(entry);
      if (this.#timer === undefined) this.#arm(at);
      promise.then(
        (value) => {
          entry.done = true;
          resolve(value);
        },
        (error: unknown) => {
          entry.done = true;
          reject(error);
        },
      );
    });
  }

  #arm(at: number): void {
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - this.#now()));
    // A pending deadline must not keep the process alive on shutdown.
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#now();
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head]!;
      if (!entry.done && entry.at > now) break;
      if (!entry.done) {
        entry.done = true;
        entry.expire();
      }
      this.#head++;
    }
    // Drop what was passed once it is most of the array (amortised O(1) per call).
    if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
    const next = this.#queue[this.#head];
    if (next) this.#arm(next.at);
    else {
      this.#queue = [];
      this.#head = 0;
    }
  }
}
