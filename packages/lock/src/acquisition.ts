/**
 * One acquisition: attempts with retries under one random owner token, and what is left to
 * clean up when it gives up.
 *
 * One random owner token per `acquire()` call, kept across its retries: when an attempt's reply
 * is lost (the lock was taken but the deadline passed), the next attempt finds its own token
 * and is told "already yours" with the same fencing token instead of "busy". If `acquire`
 * finally gives up after such an uncertain attempt, it deletes whatever that token holds —
 * compare-and-delete, so never another owner's lock.
 */
import { randomBytes } from 'node:crypto';
import { isStoreFailure, StoreUnavailableError } from '@keel/core';
import type { Attempt as BackendAttempt } from './backend.js';
import { LockBusyError, LockQuorumError, LockUnavailableError } from './errors.js';
import { HeldLock } from './held-lock.js';
import { LateGrants } from './late-grants.js';
import type { CallConfig, LockConfig } from './lock-options.js';

/** What `take` ends with: the lock, another owner holding it, or a store that could not decide. */
export type TakeResult =
  | { kind: 'held'; lock: HeldLock }
  | { kind: 'busy'; error: LockBusyError }
  | { kind: 'error'; error: LockUnavailableError | LockQuorumError };

type Attempt = BackendAttempt | { kind: 'failed'; error: LockUnavailableError | LockQuorumError };

/** Take `resource` in at most `attempts` attempts; reports `lock.acquired` / `lock.failed`. */
export async function take(
  config: LockConfig,
  resource: string,
  attempts: number,
  call: CallConfig,
): Promise<TakeResult> {
  const acquisition = new Acquisition(config, resource, call);
  let result: TakeResult;
  try {
    result = await acquisition.run(attempts);
  } catch (error) {
    await acquisition.giveUp();
    throw error;
  }
  if (result.kind === 'held') {
    acquisition.late.end(true);
    return result;
  }
  await acquisition.giveUp();
  if (config.events.active) {
    const reason =
      result.kind === 'busy'
        ? 'busy'
        : result.error instanceof LockQuorumError
          ? 'quorum'
          : 'unavailable';
    config.events.emit('lock.failed', { resource, reason, attempts }, { error: result.error });
  }
  return result;
}

/** How one `acquire()` call stands, across its attempts. */
class Acquisition {
  readonly token = newToken();
  /** Locks granted after an attempt stopped waiting for them. */
  readonly late = new LateGrants();
  /** An attempt may have taken the lock without saying so. */
  #uncertain = false;
  readonly #config: LockConfig;
  readonly #resource: string;
  readonly #call: CallConfig;

  constructor(config: LockConfig, resource: string, call: CallConfig) {
    this.#config = config;
    this.#resource = resource;
    this.#call = call;
  }

  /** Gave up: delete whatever this token may hold, now (cleanup) and when a late grant lands. */
  async giveUp(): Promise<void> {
    if (this.#uncertain) await this.#config.backend.cleanup(this.#resource, this.token);
    this.late.end(false);
  }

  /**
   * Attempts until acquired, out of attempts (the last failure) or aborted (rejects).
   */
  async run(attempts: number): Promise<TakeResult> {
    const { signal, retry } = this.#call;
    let last: TakeResult | undefined;
    let busyWait: number | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      signal?.throwIfAborted();
      const outcome = await this.#attempt();
      if (outcome.kind === 'acquired') {
        this.#uncertain = true; // until handed out
        signal?.throwIfAborted();
        const held = this.#handOut(outcome.fence, outcome.sentAt, attempt);
        if (held.kind === 'held') return held;
        last = held;
      } else if (outcome.kind === 'busy') {
        busyWait = outcome.retryAfterMs;
        last = undefined;
      } else {
        last = { kind: 'error', error: outcome.error };
      }
      if (attempt < attempts) {
        await sleep(retry.delayMs + Math.floor(Math.random() * (retry.jitterMs + 1)), signal);
      }
    }
    return last ?? { kind: 'busy', error: new LockBusyError(this.#resource, attempts, busyWait) };
  }

  /** One attempt; a store failure is an outcome, anything else (a bug) rejects. */
  async #attempt(): Promise<Attempt> {
    const { backend } = this.#config;
    try {
      return await backend.attempt(this.#resource, this.token, this.#call.ttl, this.late.handler);
    } catch (error) {
      if (!(error instanceof LockUnavailableError || error instanceof LockQuorumError)) {
        throw error;
      }
      if (mayHaveRun(error)) this.#uncertain = true;
      return { kind: 'failed', error };
    }
  }

  /** The lock, when validity is left after the reply came back. */
  #handOut(fence: number, sentAt: number, attempt: number): TakeResult {
    const { now, driftMs, events, backend } = this.#config;
    const { ttl } = this.#call;
    const resource = this.#resource;
    const deadline = sentAt + ttl - driftMs(ttl);
    if (now() >= deadline) {
      const why = `the store answered after the lock's validity (${ttl} ms minus drift) ran out`;
      return {
        kind: 'error',
        error: new LockUnavailableError(resource, 'acquire', undefined, why),
      };
    }
    if (events.active) {
      events.emit('lock.acquired', { resource, fencingToken: fence, attempts: attempt });
    }
    const lock = new HeldLock({
      backend,
      resource,
      token: this.token,
      fencingToken: fence,
      ttlMs: ttl,
      deadline,
      now,
      driftMs,
      events,
    });
    return { kind: 'held', lock };
  }
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
