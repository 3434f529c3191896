/**
 * `createLock()`: acquisition with retries (`acquisition.ts`), `tryAcquire`, and `withLock`
 * with its watchdog, over one store or a Redlock quorum. Options are parsed once into a
 * `LockConfig` (`lock-options.ts`).
 */
import { take } from './acquisition.js';
import { LockLostError } from './errors.js';
import {
  checkResource,
  checkWithLock,
  KNOWN_ACQUIRE,
  KNOWN_TRY_ACQUIRE,
  type LockConfig,
  parseCallOptions,
  parseLockOptions,
} from './lock-options.js';
import type {
  AcquireOptions,
  CreateLockOptions,
  Lock,
  LockManager,
  WithLockOptions,
} from './types.js';

/**
 * A lock over Redis (`client`), a Redlock quorum (`clients`) or this process's memory
 * (`memory`, the default). See the package README for the guarantees of each.
 */
export function createLock(options: CreateLockOptions = {}): LockManager {
  return new KeelLockManager(parseLockOptions(options));
}

/**
 * The manager. Its methods are arrow properties: `const { withLock } = createLock()` works,
 * as it did when the manager was an object literal.
 */
class KeelLockManager implements LockManager {
  readonly #config: LockConfig;

  constructor(config: LockConfig) {
    this.#config = config;
  }

  readonly acquire = async (resource: string, opts?: AcquireOptions): Promise<Lock> => {
    checkResource(resource);
    const call = parseCallOptions(this.#config, opts, KNOWN_ACQUIRE);
    const result = await take(this.#config, resource, call.retry.attempts, call);
    if (result.kind === 'held') return result.lock;
    throw result.error;
  };

  readonly tryAcquire = async (
    resource: string,
    opts?: Omit<AcquireOptions, 'retry'>,
  ): Promise<Lock | undefined> => {
    checkResource(resource);
    const call = parseCallOptions(this.#config, opts, KNOWN_TRY_ACQUIRE);
    const result = await take(this.#config, resource, 1, call);
    switch (result.kind) {
      case 'held':
        return result.lock;
      case 'busy':
        return undefined;
      case 'error':
        throw result.error;
    }
  };

  readonly withLock = async <T>(
    resource: string,
    fn: (lock: Lock) => T | Promise<T>,
    opts?: WithLockOptions,
  ): Promise<T> => {
    const pace = checkWithLock(fn, opts, this.#config.renewRatio);
    const { renewRatio: _ratio, ...acquireOpts } = opts ?? {};
    const lock = await this.acquire(resource, acquireOpts);
    const ttl = acquireOpts.ttlMs ?? this.#config.ttlMs;
    const stop = watchdog(lock, ttl, Math.max(1, Math.floor(ttl * pace)));
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await fn(lock) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const held = lock.isHeld();
    stop();
    // The lock is released whatever happened; if the store cannot be reached, its TTL frees
    // it, and fn's own outcome matters more than the release's.
    await lock.release().catch((error: unknown) => {
      this.#config.events.emit(
        'lock.released',
        { resource, fencingToken: lock.fencingToken, held: false },
        { error },
      );
    });
    if (!outcome.ok) throw outcome.error;
    if (!held) throw lock.signal.reason as LockLostError;
    return outcome.value;
  };
}

/**
 * Renews `lock` every `intervalMs` until stopped or lost. A renewal that fails on a store error
 * is tried again sooner while validity lasts; one that finds the lock gone has already aborted
 * its signal.
 */
function watchdog(lock: Lock, ttlMs: number, intervalMs: number): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (stopped || !lock.isHeld()) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    lock.extend(ttlMs).then(
      () => schedule(intervalMs),
      (error: unknown) => {
        if (error instanceof LockLostError) return;
        schedule(Math.max(1, Math.min(intervalMs, Math.floor(lock.remainingMs() / 2))));
      },
    );
  };
  schedule(intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
