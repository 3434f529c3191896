/**
 * `createLock()`: acquisition with retries, `tryAcquire`, and `withLock` with its watchdog, over
 * one store or a Redlock quorum.
 *
 * One random owner token per `acquire()` call, kept across its retries: when an attempt's reply
 * is lost (the lock was taken but the deadline passed), the next attempt finds its own token
 * and is told "already yours" with the same fencing token instead of "busy". If `acquire`
 * finally gives up after such an uncertain attempt, it deletes whatever that token holds —
 * compare-and-delete, so never another owner's lock.
 */
import { randomBytes } from 'node:crypto';
import {
  type AnyRedisClient,
  createWarnings,
  DEFAULT_PREFIX,
  isStoreFailure,
  isSupportedClient,
  type KeelEvents,
  StoreUnavailableError,
  SUPPORTED_CLIENTS,
  toEvents,
  validatePrefix,
  validatorFor,
} from '@keel/core';
import { type Attempt as BackendAttempt, type LockBackend, singleBackend } from './backend.js';
import {
  codes,
  LockBusyError,
  LockLostError,
  LockQuorumError,
  LockUnavailableError,
} from './errors.js';
import { HeldLock } from './held-lock.js';
import { LateGrants } from './late-grants.js';
import { quorumBackend } from './redlock.js';
import type { LockStore } from './store.js';
import { MemoryLockStore } from './stores/memory.js';
import { createRedisLockStore, describeClient } from './stores/redis.js';
import type {
  AcquireOptions,
  CreateLockOptions,
  Lock,
  LockManager,
  RetryOptions,
  WithLockOptions,
} from './types.js';

const KNOWN_OPTIONS = [
  'client',
  'clients',
  'memory',
  'prefix',
  'deadlineMs',
  'ttlMs',
  'retry',
  'driftFactor',
  'renewRatio',
  'breaker',
  'events',
  'warnings',
  'clock',
  'waitForReplicas',
] as const;
const KNOWN_RETRY = ['attempts', 'delayMs', 'jitterMs'] as const;
const KNOWN_ACQUIRE = ['ttlMs', 'retry', 'signal'] as const;
const KNOWN_WITH_LOCK = [...KNOWN_ACQUIRE, 'renewRatio'] as const;

/** Shortest TTL accepted, ms: below it the drift allowance leaves no validity. */
const MIN_TTL_MS = 10;

/** How one `acquire()` call stands, across its attempts. */
interface Progress {
  /** An attempt may have taken the lock without saying so. */
  uncertain: boolean;
  late: LateGrants;
}

interface Retry {
  attempts: number;
  delayMs: number;
  jitterMs: number;
}

/**
 * A lock over Redis (`client`), a Redlock quorum (`clients`) or this process's memory
 * (`memory`, the default). See the package README for the guarantees of each.
 */
export function createLock(options: CreateLockOptions = {}): LockManager {
  const v = validatorFor('createLock');
  v.knownOptions(options, KNOWN_OPTIONS);
  const events: KeelEvents = toEvents(options.events);
  const warnings = createWarnings({ switches: options.warnings, events });
  const now = v.func<() => number>('clock', options.clock, () => performance.now());
  const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX, 'createLock.prefix');
  const deadlineMs = v.positiveInteger('deadlineMs', options.deadlineMs, 500, 'ms');
  const ttlMs = v.integerInRange('ttlMs', options.ttlMs, 10_000, MIN_TTL_MS, 2 ** 31 - 1, 'ms');
  const driftFactor = fraction(v, 'driftFactor', options.driftFactor, 0.01, true);
  const renewRatio = fraction(v, 'renewRatio', options.renewRatio, 1 / 3, false);
  const retry = parseRetry(v, 'retry', options.retry, {
    attempts: 10,
    delayMs: 100,
    jitterMs: 100,
  });
  if (options.breaker !== undefined && options.breaker !== false) {
    if (typeof options.breaker !== 'object' || options.breaker === null) {
      throw v.fail('breaker', options.breaker, 'circuit breaker options or false');
    }
  }

  const given = (['client', 'clients', 'memory'] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) {
    throw v.fail(given[1]!, options[given[1]!], `left out when "${given[0]}" is given`);
  }
  const driftMs = (ttl: number) => Math.floor(ttl * driftFactor) + 2;
  const redisStore = (client: AnyRedisClient) =>
    createRedisLockStore(client, {
      prefix,
      deadlineMs,
      breaker: options.breaker,
      events,
      warnings: options.warnings,
      waitForReplicas: options.waitForReplicas,
    });

  let backend: LockBackend;
  if (options.clients !== undefined) {
    const clients = options.clients;
    if (!Array.isArray(clients) || clients.length === 0 || !clients.every(isSupportedClient)) {
      throw v.fail(
        'clients',
        clients,
        `a non-empty array of clients (one per Redis master), each ${SUPPORTED_CLIENTS}`,
      );
    }
    if (clients.length < 3 || clients.length % 2 === 0) {
      warnings.warn(
        'redlockNodeCount',
        `createLock: Redlock over ${clients.length} node(s) tolerates ${Math.floor((clients.length - 1) / 2)} failure(s); use an odd number, at least 3`,
      );
    }
    const names = clients.map(describeClient);
    const duplicate = names.find((name, i) => name !== 'cluster' && names.indexOf(name) !== i);
    if (duplicate) {
      warnings.warn(
        'redlockSameNode',
        `createLock: two Redlock clients point at ${duplicate}; the nodes must be independent masters or the quorum means nothing`,
      );
    }
    backend = quorumBackend(clients.map(redisStore), now, driftMs);
  } else if (options.client !== undefined) {
    if (!isSupportedClient(options.client)) {
      throw v.fail('client', options.client, SUPPORTED_CLIENTS);
    }
    backend = singleBackend(redisStore(options.client), now);
  } else {
    const memory = options.memory ?? true;
    let store: LockStore;
    // The store's own default clock counts from the epoch, as its fencing floor needs.
    if (memory === true) store = new MemoryLockStore(options.clock ? { clock: now } : {});
    else if (memory instanceof MemoryLockStore) store = memory;
    else throw v.fail('memory', memory, 'true or a store from createMemoryLockStore()');
    backend = singleBackend(store, now);
  }

  const call = validatorFor('lock.acquire');

  function callOptions(opts: AcquireOptions | undefined, known: readonly string[]) {
    call.knownOptions(opts, known);
    const o = opts ?? {};
    const signal = o.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw call.fail('signal', signal, 'an AbortSignal');
    }
    return {
      ttl: call.integerInRange('ttlMs', o.ttlMs, ttlMs, MIN_TTL_MS, 2 ** 31 - 1, 'ms'),
      retry: o.retry === undefined ? retry : parseRetry(call, 'retry', o.retry, retry),
      signal,
    };
  }

  function checkResource(resource: unknown): asserts resource is string {
    if (typeof resource !== 'string' || resource.length === 0) {
      throw call.fail('resource', resource, 'a non-empty string');
    }
  }

  type Failure = LockBusyError | LockUnavailableError | LockQuorumError;
  type Attempt = BackendAttempt | { kind: 'failed'; error: LockUnavailableError | LockQuorumError };

  /**
   * Attempts until acquired, out of attempts (resolves to the error to throw) or aborted
   * (rejects). `progress.uncertain` turns true once an attempt may have taken the lock without
   * saying so; `progress.late` collects locks taken after an attempt stopped waiting.
   */
  async function attemptAll(
    resource: string,
    token: string,
    ttl: number,
    attempts: number,
    retryOpts: Retry,
    signal: AbortSignal | undefined,
    progress: Progress,
  ): Promise<HeldLock | Failure> {
    let last: Failure | undefined;
    let busyWait: number | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      signal?.throwIfAborted();
      let outcome: Attempt;
      try {
        outcome = await backend.attempt(resource, token, ttl, progress.late.handler);
      } catch (error) {
        if (!(error instanceof LockUnavailableError || error instanceof LockQuorumError)) {
          throw error;
        }
        if (mayHaveRun(error)) progress.uncertain = true;
        outcome = { kind: 'failed', error };
      }
      if (outcome.kind === 'acquired') {
        progress.uncertain = true; // until handed out
        signal?.throwIfAborted();
        const deadline = outcome.sentAt + ttl - driftMs(ttl);
        if (now() < deadline) {
          if (events.active) {
            events.emit('lock.acquired', {
              resource,
              fencingToken: outcome.fence,
              attempts: attempt,
            });
          }
          return new HeldLock({
            backend,
            resource,
            token,
            fencingToken: outcome.fence,
            ttlMs: ttl,
            deadline,
            now,
            driftMs,
            events,
          });
        }
        last = new LockUnavailableError(
          resource,
          'acquire',
          undefined,
          `the store answered after the lock's validity (${ttl} ms minus drift) ran out`,
        );
      } else if (outcome.kind === 'busy') {
        busyWait = outcome.retryAfterMs;
        last = undefined;
      } else {
        last = outcome.error;
      }
      if (attempt < attempts) {
        await sleep(
          retryOpts.delayMs + Math.floor(Math.random() * (retryOpts.jitterMs + 1)),
          signal,
        );
      }
    }
    return last ?? new LockBusyError(resource, attempts, busyWait);
  }

  async function take(
    resource: string,
    ttl: number,
    attempts: number,
    retryOpts: Retry,
    signal: AbortSignal | undefined,
  ): Promise<HeldLock | Failure> {
    const token = newToken();
    const progress: Progress = { uncertain: false, late: new LateGrants() };
    // Gave up: delete whatever this token may hold, now (cleanup) and when a late grant lands.
    const giveUp = async () => {
      if (progress.uncertain) await backend.cleanup(resource, token);
      progress.late.settle(false);
    };
    let result: HeldLock | Failure;
    try {
      result = await attemptAll(resource, token, ttl, attempts, retryOpts, signal, progress);
    } catch (error) {
      await giveUp();
      throw error;
    }
    if (result instanceof HeldLock) {
      progress.late.settle(true);
      return result;
    }
    await giveUp();
    if (events.active) {
      const reason =
        result.code === codes.LOCK_BUSY
          ? 'busy'
          : result.code === codes.LOCK_QUORUM
            ? 'quorum'
            : 'unavailable';
      events.emit('lock.failed', { resource, reason, attempts }, { error: result });
    }
    return result;
  }

  async function acquire(resource: string, opts?: AcquireOptions): Promise<Lock> {
    checkResource(resource);
    const { ttl, retry: r, signal } = callOptions(opts, KNOWN_ACQUIRE);
    const result = await take(resource, ttl, r.attempts, r, signal);
    if (result instanceof HeldLock) return result;
    throw result;
  }

  return {
    acquire,

    async tryAcquire(resource, opts) {
      checkResource(resource);
      const { ttl, signal } = callOptions(opts, ['ttlMs', 'signal']);
      const result = await take(resource, ttl, 1, retry, signal);
      if (result instanceof HeldLock) return result;
      if (result instanceof LockBusyError) return undefined;
      throw result;
    },

    async withLock<T>(
      resource: string,
      fn: (lock: Lock) => T | Promise<T>,
      opts?: WithLockOptions,
    ): Promise<T> {
      if (typeof fn !== 'function') throw call.fail('fn', fn, 'a function');
      const { renewRatio: ratio, ...acquireOpts } = opts ?? {};
      call.knownOptions(opts, KNOWN_WITH_LOCK);
      const pace = fraction(call, 'renewRatio', ratio, renewRatio, false);
      const lock = await acquire(resource, acquireOpts);
      const ttl = acquireOpts.ttlMs ?? ttlMs;
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
        events.emit(
          'lock.released',
          { resource, fencingToken: lock.fencingToken, held: false },
          { error },
        );
      });
      if (!outcome.ok) throw outcome.error;
      if (!held) throw lock.signal.reason as LockLostError;
      return outcome.value;
    },
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

let pool = Buffer.alloc(0);
let offset = 0;

/**
 * A random owner token: 128 bits, base64url (22 characters). Drawn from a pooled buffer of
 * `randomBytes`, refilled every 256 tokens: one CSPRNG call per token cost as much as the
 * rest of an acquire's client-side work.
 */
function newToken(): string {
  if (offset + 16 > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  offset += 16;
  return pool.toString('base64url', offset - 16, offset);
}

/**
 * Whether a failed single-store attempt may still have taken the lock, so that giving up must
 * clean up after it (a compare-and-delete by its own token: harmless when it took nothing).
 *
 * - A missed deadline: the guard only stops a script that *starts* after it; one that started
 *   in time may have taken the lock and answered late (its late grant is also released by
 *   `LateGrants`, but the reply may never come: a broken connection).
 * - A connection error while the call was in flight, or a reply error (`OOM`, `BUSY`,
 *   `NOPERM`, `WRONGTYPE`, …): the script reports these before it writes anything, or undoes
 *   its `SET` first, but a connection error says nothing of what ran; erring on "may have" costs
 *   one release.
 * - Refused before anything was sent (circuit open, client closed or never ready, the memory
 *   table full): a `StoreUnavailableError` with no `cause` of its own. Nothing ran.
 * - Redlock: the quorum attempt already released on every node.
 */
function mayHaveRun(error: LockUnavailableError | LockQuorumError): boolean {
  if (error instanceof LockQuorumError) return false;
  const cause = error.cause;
  if (cause instanceof StoreUnavailableError) return cause.cause !== undefined;
  return isStoreFailure(cause);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function fraction(
  v: ReturnType<typeof validatorFor>,
  option: string,
  value: unknown,
  fallback: number,
  zeroAllowed: boolean,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value >= 1 ||
    value < 0 ||
    (!zeroAllowed && value === 0)
  ) {
    throw v.fail(option, value, `a number ${zeroAllowed ? '>= 0' : '> 0'} and < 1`);
  }
  return value;
}

function parseRetry(
  v: ReturnType<typeof validatorFor>,
  option: string,
  value: RetryOptions | undefined,
  fallback: Retry,
): Retry {
  if (value === undefined) return fallback;
  if (typeof value !== 'object' || value === null) {
    throw v.fail(option, value, 'an object { attempts, delayMs, jitterMs }');
  }
  v.knownOptions(value, KNOWN_RETRY);
  return {
    attempts: v.integerInRange(`${option}.attempts`, value.attempts, fallback.attempts, 1, 1000),
    delayMs: v.nonNegativeInteger(`${option}.delayMs`, value.delayMs, fallback.delayMs, 'ms'),
    jitterMs: v.nonNegativeInteger(`${option}.jitterMs`, value.jitterMs, fallback.jitterMs, 'ms'),
  };
}
