/**
 * Redlock over N independent stores (https://redis.io/docs/latest/develop/use/patterns/distributed-locks/):
 *
 * 1. Note the monotonic time, send the acquire script to every node in parallel (each call under
 *    its own deadline).
 * 2. The lock is taken when a quorum, `floor(N / 2) + 1`, granted it and validity is left:
 *    `sentAt + ttl − drift` still lies ahead (drift = `ttl × driftFactor + 2 ms`). One slow
 *    node does not hold up a decision the others already made.
 * 3. Otherwise wait for the stragglers and release on every node — compare-and-delete with our
 *    token, so only what this attempt took is removed — and report busy or no quorum.
 *
 * Fencing tokens. Each node has its own counter, and counters drift apart (a node was down, or
 * restarted without persistence), so the token is the largest counter among the granting nodes,
 * and when fewer than a quorum of them are already at it, the laggards are raised to it before
 * the lock is handed out. Then a quorum holds counters ≥ the token; any later quorum shares a
 * node with it, whose next token exceeds its counter, so the next token is larger. When more
 * than a quorum lost their counters at once (restarts without persistence), that argument has
 * no node left to stand on; the clock does instead: a node whose counter is gone issues its own
 * `TIME` in microseconds, which has passed every token issued before the loss (give or take the
 * nodes' clock skew, which the restart itself outlasts). While counters exist, their floor is
 * whole 100 ms, so nodes reading the same 100 ms agree and the raise step is rare.
 */
import type { Attempt, Extension, LockBackend } from './backend.js';
import { LockQuorumError, type QuorumTally } from './errors.js';
import { type AcquireReply, type HoldStatus, ScriptStatus } from './status.js';
import type { LateGrantHandler, LockStore } from './store.js';

type Settled<T> = PromiseSettledResult<T> | undefined;

/** A node that granted the lock, with its fencing counter. */
interface Granted {
  store: LockStore;
  fence: number;
}

/**
 * Resolves once `quorum` calls succeeded (the rest may still be pending: `undefined`), or when
 * every call settled. Late rejections are absorbed, never unhandled.
 */
function gather<T>(
  calls: readonly Promise<T>[],
  success: (value: T) => boolean,
  quorum: number,
): Promise<Settled<T>[]> {
  return new Promise((resolve) => {
    const results: Settled<T>[] = calls.map(() => undefined);
    let settled = 0;
    let wins = 0;
    let done = false;
    const record = (i: number, result: PromiseSettledResult<T>, win: boolean) => {
      results[i] = result;
      settled++;
      if (win) wins++;
      if (!done && (wins >= quorum || settled === calls.length)) {
        done = true;
        resolve(results.slice());
      }
    };
    for (let i = 0; i < calls.length; i++) {
      calls[i]!.then(
        (value) => record(i, { status: 'fulfilled', value }, success(value)),
        (reason: unknown) => record(i, { status: 'rejected', reason }, false),
      );
    }
  });
}

function tally(
  results: readonly PromiseSettledResult<AcquireReply | HoldStatus>[],
  quorum: number,
): QuorumTally & { errors: unknown[] } {
  let granted = 0;
  let busy = 0;
  const errors: unknown[] = [];
  for (const result of results) {
    if (result.status === 'rejected') {
      errors.push(result.reason);
      continue;
    }
    const status = typeof result.value === 'number' ? result.value : result.value.status;
    if (status === ScriptStatus.OK || status === ScriptStatus.ALREADY_OURS) granted++;
    else if (status === ScriptStatus.BUSY || status === ScriptStatus.OTHER_OWNER) busy++;
  }
  return { quorum, nodes: results.length, granted, busy, failed: errors.length, errors };
}

export function quorumBackend(
  stores: readonly LockStore[],
  now: () => number,
  driftMs: (ttlMs: number) => number,
): LockBackend {
  return new QuorumBackend(stores, now, driftMs);
}

const isOk = (status: HoldStatus) => status === ScriptStatus.OK;

class QuorumBackend implements LockBackend {
  readonly #stores: readonly LockStore[];
  readonly #now: () => number;
  readonly #driftMs: (ttlMs: number) => number;
  readonly #quorum: number;

  constructor(stores: readonly LockStore[], now: () => number, driftMs: (ttlMs: number) => number) {
    this.#stores = stores;
    this.#now = now;
    this.#driftMs = driftMs;
    this.#quorum = Math.floor(stores.length / 2) + 1;
  }

  async attempt(
    resource: string,
    token: string,
    ttlMs: number,
    onLateGrant?: LateGrantHandler,
  ): Promise<Attempt> {
    const sentAt = this.#now();
    const calls = this.#stores.map((store) => store.acquire(resource, token, ttlMs, onLateGrant));
    const early = await gather(calls, (reply) => reply.status !== ScriptStatus.BUSY, this.#quorum);
    const granted: Granted[] = [];
    early.forEach((result, i) => {
      if (result?.status === 'fulfilled' && result.value.status !== ScriptStatus.BUSY) {
        granted.push({ store: this.#stores[i]!, fence: result.value.fence });
      }
    });
    const decided =
      granted.length >= this.#quorum
        ? await this.#decide(resource, ttlMs, sentAt, granted)
        : undefined;
    if (typeof decided === 'object') return decided;
    return this.#failed(resource, token, calls, decided);
  }

  /** A quorum granted: the lock, or why it cannot be handed out after all. */
  async #decide(
    resource: string,
    ttlMs: number,
    sentAt: number,
    granted: readonly Granted[],
  ): Promise<Attempt | string> {
    const deadline = sentAt + ttlMs - this.#driftMs(ttlMs);
    const fence = Math.max(...granted.map((node) => node.fence));
    const behind = this.#laggards(fence, granted);
    if (this.#now() >= deadline) return 'the quorum answered after the lock validity ran out';
    if (behind === undefined) return { kind: 'acquired', fence, sentAt };
    if (!(await this.#raise(resource, fence, granted, behind))) {
      return 'the fencing counters could not be brought level on a quorum';
    }
    // Raising took a round trip: the validity is checked again.
    if (this.#now() < deadline) return { kind: 'acquired', fence, sentAt };
    return 'the lock validity ran out while the fencing counters were brought level';
  }

  /**
   * Failed (`why`, or no quorum granted): wait for the stragglers (each under its deadline),
   * then take back whatever this attempt took, on every node, before saying so.
   */
  async #failed(
    resource: string,
    token: string,
    calls: readonly Promise<AcquireReply>[],
    why: string | undefined,
  ): Promise<Attempt> {
    const all = await Promise.allSettled(calls);
    await this.cleanup(resource, token);
    const { errors, ...counts } = tally(all, this.#quorum);
    if (
      why !== undefined ||
      (counts.failed > 0 && counts.granted + counts.failed >= this.#quorum)
    ) {
      throw new LockQuorumError(resource, counts, errors, why);
    }
    const waits = all.flatMap((r) =>
      r.status === 'fulfilled' && r.value.status === ScriptStatus.BUSY && r.value.ttlMs >= 0
        ? [r.value.ttlMs]
        : [],
    );
    return { kind: 'busy', retryAfterMs: waits.length > 0 ? Math.min(...waits) : undefined };
  }

  async extend(resource: string, token: string, ttlMs: number): Promise<Extension> {
    const sentAt = this.#now();
    const calls = this.#stores.map((store) => store.extend(resource, token, ttlMs));
    const early = await gather(calls, isOk, this.#quorum);
    const ok = early.filter((r) => r?.status === 'fulfilled' && isOk(r.value)).length;
    if (ok >= this.#quorum) return { ok: true, sentAt };
    const { errors, ...counts } = tally(await Promise.allSettled(calls), this.#quorum);
    if (counts.granted + counts.failed >= this.#quorum) {
      throw new LockQuorumError(resource, counts, errors, 'extend could not reach a quorum');
    }
    return { ok: false, reason: counts.busy > 0 ? 'taken' : 'expired' };
  }

  async release(resource: string, token: string): Promise<boolean> {
    // Sent to every node; answered once a quorum confirmed, without waiting for a hung node.
    const calls = this.#stores.map((store) => store.release(resource, token));
    const early = await gather(calls, isOk, this.#quorum);
    if (early.filter((r) => r?.status === 'fulfilled' && isOk(r.value)).length >= this.#quorum) {
      return true;
    }
    const { errors, ...counts } = tally(await Promise.allSettled(calls), this.#quorum);
    if (counts.granted >= this.#quorum) return true;
    if (counts.granted + counts.failed >= this.#quorum) {
      throw new LockQuorumError(
        resource,
        counts,
        errors,
        'release could not reach enough nodes; the TTL frees the rest',
      );
    }
    return false;
  }

  async cleanup(resource: string, token: string): Promise<void> {
    await Promise.allSettled(this.#stores.map((store) => store.release(resource, token)));
  }

  /** Counters to raise so that a quorum is at `fence` (none in the common case: all agree). */
  #laggards(fence: number, granted: readonly Granted[]): Granted[] | undefined {
    const behind = granted.filter((node) => node.fence < fence);
    return granted.length - behind.length >= this.#quorum ? undefined : behind;
  }

  /** Raise `behind` to `fence`; true when a quorum of counters is then at it. */
  async #raise(
    resource: string,
    fence: number,
    granted: readonly Granted[],
    behind: readonly Granted[],
  ): Promise<boolean> {
    const raised = await Promise.allSettled(
      behind.map((node) => node.store.raiseFence(resource, fence)),
    );
    const ok = raised.filter((r) => r.status === 'fulfilled' && r.value >= fence).length;
    return granted.length - behind.length + ok >= this.#quorum;
  }
}
