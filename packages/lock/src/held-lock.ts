/**
 * A held lock: validity on the monotonic clock, the lost-lock signal, compare-and-act extend
 * and release through the backend.
 *
 * The signal must fire when validity runs out even if the event loop was blocked past the
 * deadline, so nothing relies on the expiry timer alone: every look at the lock (`isHeld()`,
 * `remainingMs()`, `signal`, `extend()`) first compares the clock with the deadline and aborts
 * the signal on the spot when it has passed. The timer only makes the abort happen without
 * anyone looking, so it runs only when someone could notice: once `signal` has been read, or
 * while `lock.*` events have listeners. A lock nobody watches costs no timer and no
 * AbortController — a class rather than closures for the same reason: acquire + release pairs
 * are the hot path.
 */
import { type KeelEvents, optionError } from '@keel/core';
import type { LockBackend } from './backend.js';
import { LockLostError, type LockLostReason } from './errors.js';
import type { Lock } from './types.js';

export interface HeldLockInit {
  backend: LockBackend;
  resource: string;
  token: string;
  fencingToken: number;
  ttlMs: number;
  /** Monotonic deadline of validity. */
  deadline: number;
  now: () => number;
  driftMs: (ttlMs: number) => number;
  events: KeelEvents;
}

export class HeldLock implements Lock {
  readonly resource: string;
  readonly token: string;
  readonly fencingToken: number;
  readonly #init: HeldLockInit;
  #state: 'held' | 'lost' | 'released' = 'held';
  #deadline: number;
  #validUntil: number;
  #controller: AbortController | undefined;
  #lost: LockLostError | undefined;
  #timer: NodeJS.Timeout | undefined;
  #extending: Promise<unknown> | undefined;

  constructor(init: HeldLockInit) {
    this.#init = init;
    this.resource = init.resource;
    this.token = init.token;
    this.fencingToken = init.fencingToken;
    this.#deadline = init.deadline;
    this.#validUntil = Date.now() + (init.deadline - init.now());
    if (init.events.active) this.#watch();
  }

  get validUntil(): number {
    return this.#validUntil;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#check()) this.#watch();
      else if (this.#lost) this.#controller.abort(this.#lost);
    } else {
      this.#check();
    }
    return this.#controller.signal;
  }

  isHeld(): boolean {
    return this.#check();
  }

  remainingMs(): number {
    return this.#check() ? Math.max(0, this.#deadline - this.#init.now()) : 0;
  }

  extend(ttlMs: number = this.#init.ttlMs): Promise<void> {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
      return Promise.reject(optionError('lock.extend', 'ttlMs', ttlMs, 'an integer >= 1 (ms)'));
    }
    // One extension at a time: each sets the TTL from its own send time, so overlapping ones
    // could otherwise leave a deadline later than the store's.
    const run = this.#extending
      ? this.#extending.then(() => this.#extendOnce(ttlMs))
      : this.#extendOnce(ttlMs);
    this.#extending = run.catch(() => {});
    return run;
  }

  async release(): Promise<boolean> {
    if (this.#state === 'released') return false;
    this.#state = 'released';
    clearTimeout(this.#timer);
    const { backend, events } = this.#init;
    const held = await backend.release(this.resource, this.token);
    if (events.active) {
      events.emit('lock.released', {
        resource: this.resource,
        fencingToken: this.fencingToken,
        held,
      });
    }
    return held;
  }

  async #extendOnce(ttlMs: number): Promise<void> {
    if (!this.#check()) throw this.#lostError();
    const { backend, events, now, driftMs } = this.#init;
    const result = await backend.extend(this.resource, this.token, ttlMs);
    // Validity is judged on the old deadline first: a reply arriving after it does not revive
    // a lock whose signal may already have been seen.
    if (!this.#check()) throw this.#lostError();
    if (!result.ok) {
      this.#lose(result.reason);
      throw this.#lostError();
    }
    this.#deadline = result.sentAt + ttlMs - driftMs(ttlMs);
    this.#validUntil = Date.now() + (this.#deadline - now());
    this.#watch();
    if (events.active) {
      events.emit('lock.extended', {
        resource: this.resource,
        fencingToken: this.fencingToken,
        ttlMs,
      });
    }
  }

  /** True while valid; aborts the signal the moment it finds the deadline passed. */
  #check(): boolean {
    if (this.#state === 'held' && this.#init.now() >= this.#deadline) this.#lose('expired');
    return this.#state === 'held';
  }

  #lose(reason: LockLostReason): void {
    if (this.#state !== 'held') return;
    this.#state = 'lost';
    clearTimeout(this.#timer);
    this.#lost = new LockLostError(this.resource, reason, this.fencingToken);
    const { events } = this.#init;
    if (events.active) {
      events.emit('lock.lost', {
        resource: this.resource,
        fencingToken: this.fencingToken,
        reason,
      });
    }
    this.#controller?.abort(this.#lost);
  }

  #lostError(): LockLostError {
    if (this.#state === 'released') {
      return new LockLostError(this.resource, 'released', this.fencingToken);
    }
    return this.#lost!;
  }

  /** (Re)start the expiry timer, if anyone could notice it firing. */
  #watch(): void {
    if (this.#state !== 'held') return;
    if (this.#controller === undefined && !this.#init.events.active) return;
    clearTimeout(this.#timer);
    const wait = Math.max(1, Math.ceil(this.#deadline - this.#init.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // Early (a coarse timer, or a clock that tests move by hand): look again later.
      if (this.#check()) this.#watch();
    }, wait);
    // A held lock must not keep the process alive on its own.
    this.#timer.unref();
  }
}
