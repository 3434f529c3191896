/**
 * The Redis store: one Lua script per transition, each one EVALSHA (one round trip) through
 * core's script runner, under core's store caller (deadline, circuit breaker, a wait for a
 * connecting client, error classification, latency events). A record is one hash under one
 * key, `<prefix>idem:{<hash of scope and key>}`, so it lives on one Cluster slot and the
 * client's key never reaches Redis as typed.
 *
 * Calls the engine gives up on (issue 12): a claim is the one transition whose late run would
 * do harm — a claim nobody holds blocks its key for a whole lease. So `acquire` is guarded (a
 * claim script that starts after its deadline does nothing) and compensated (a claim that ran
 * in time but answered late is released by its token). `complete` and `release` are not
 * guarded, on purpose: the engine has already answered the client with the handler's response
 * either way, and a late run by the owner's token can only make the record agree with that
 * answer (the response stored for replay, or the key free again after a 5xx) — it is fenced if
 * another owner took over meanwhile.
 */
import {
  type Clock,
  codes as coreCodes,
  isKeelError,
  type Keyspace,
  type RedisStoreOptions,
  type RedisStoreParts,
  type ScriptArg,
  type ScriptRunner,
  type StoreAttempt,
  type StoreCaller,
  StoreDataError,
  setupRedisStore,
} from '@keel/core';
import { acquireRecord, completeRecord, releaseClaim, renewLease } from '../scripts/generated.js';
import { CorruptRecordError, decodeAcquire, decodeTransition } from '../status.js';
import type {
  AcquireOutcome,
  AcquireRequest,
  Completion,
  IdempotencyStore,
  TransitionOutcome,
} from '../types.js';
import { VERSION } from '../version.js';

/**
 * Options of the Redis store: those every Keel Redis store takes (see `RedisStoreOptions` in
 * @keel/core: `client`, `prefix`, `breaker`, `events`, `clockForTests`, `warnings`). Keys are
 * `<prefix>idem:{…}`.
 */
export interface RedisIdempotencyStoreOptions extends RedisStoreOptions {
  /**
   * Deadline of each store call, ms. A claim that misses it answers 503 (the handler never runs
   * without a claim). @default 1000
   */
  deadlineMs?: number;
  /**
   * Claims and completions count once this many replicas confirmed them (`WAIT`): a claim
   * short of it is released and answers 503; a completion short of it is reported
   * (`idempotency.store-error`) and its retries get 409 until the claim's lease ends. See
   * `RedisStoreOptions`. @default 0
   */
  waitForReplicas?: RedisStoreOptions['waitForReplicas'];
}

/** The engine's record ids: 22 base64url characters. */
const HASHED_ID = /^[A-Za-z0-9_-]{22}$/;

/** An {@link IdempotencyStore} on Redis (standalone, Sentinel or Cluster). */
export function createRedisIdempotencyStore(
  options: RedisIdempotencyStoreOptions,
): IdempotencyStore {
  return new RedisIdempotencyStore(
    setupRedisStore(options, {
      component: 'createRedisIdempotencyStore',
      feature: 'idempotency',
      short: 'idem',
      version: VERSION,
      defaultDeadlineMs: 1000,
      evictionImpact: 'an evicted record lets a retried request run again',
      // With `waitForReplicas`, a claim and a stored response count once replicas have them:
      // a failover then neither lets a retry run again nor forgets the response to replay.
      durableOperations: ['acquire', 'complete'],
    }),
  );
}

class RedisIdempotencyStore implements IdempotencyStore {
  readonly kind = 'redis';
  readonly #keyspace: Keyspace;
  readonly #runner: ScriptRunner;
  readonly #call: StoreCaller;
  readonly #clockForTests: Clock | undefined;
  /**
   * Claims whose acquire timed out with its reply still on the way, by record: settled once
   * the reply came (and a late claim was released) or the script was refused. A retry of the
   * same key in this process waits for it, so it never meets the claim of its own timed-out
   * attempt (409) in the moments between Redis answering and the release.
   */
  readonly #unsettled = new Map<string, Promise<unknown>>();

  constructor({ keyspace, runner, call, clockForTests }: RedisStoreParts) {
    this.#keyspace = keyspace;
    this.#runner = runner;
    this.#call = call;
    this.#clockForTests = clockForTests;
  }

  acquire(req: AcquireRequest): Promise<AcquireOutcome> {
    const key = this.#keyOf(req.record);
    const { token, fingerprint, leaseMs, retentionMs } = req;
    const args: ScriptArg[] = [token, fingerprint, leaseMs, retentionMs, this.#now()];
    let sent: Promise<AcquireOutcome> | undefined;
    let undone: Promise<unknown> | undefined;
    // Core's compensation and a waiting retry share one release.
    const undo = (outcome: AcquireOutcome) => {
      undone ??= this.#releaseLate(key, req.token, outcome);
      return undone;
    };
    const run = (attempt: StoreAttempt) =>
      // Buffers: a replayed body is binary. Decoded inside the call, so a corrupt record is
      // classified as store data (503), not left to surface as a 500.
      this.#runner
        .runBuffer(acquireRecord, [key], args, attempt)
        .then((reply) => this.#decodeRecord(reply));
    return this.#call(
      'acquire',
      (attempt) => {
        const before = this.#unsettled.get(req.record);
        sent = before ? before.then(() => run(attempt)) : run(attempt);
        return sent;
      },
      undo,
    ).catch((error: unknown) => {
      if (sent && isTimeout(error)) this.#track(req.record, sent, undo);
      throw error;
    });
  }

  complete(
    record: string,
    token: string,
    completion: Completion,
    retentionMs: number,
  ): Promise<TransitionOutcome> {
    const args = completion.stored
      ? [
          token,
          '1',
          completion.response.status,
          JSON.stringify(completion.response.headers),
          toBuffer(completion.response.body),
          retentionMs,
        ]
      : [token, '0', completion.status, '', '', retentionMs];
    // Unguarded (see the top of the file): a completion that lands late stores the response
    // the client already got, so its retry replays it instead of running again.
    return this.#call('complete', (attempt) =>
      this.#runner.run(completeRecord, [this.#keyOf(record)], args, { ...attempt, guard: false }),
    ).then(decodeComplete);
  }

  async release(record: string, token: string): Promise<TransitionOutcome> {
    // Unguarded: a late release frees the key for the retry the 5xx invited.
    const reply = await this.#call('release', () =>
      this.#runner.run(releaseClaim, [this.#keyOf(record)], [token]),
    );
    return decodeTransition('release-claim', reply);
  }

  async renew(
    record: string,
    token: string,
    leaseMs: number,
    retentionMs: number,
  ): Promise<TransitionOutcome> {
    const args = [token, leaseMs, retentionMs, this.#now()];
    // Guarded: a heartbeat that starts late would only extend a lease the next beat renews.
    const reply = await this.#call('renew', (attempt) =>
      this.#runner.run(renewLease, [this.#keyOf(record)], args, attempt),
    );
    return decodeTransition('renew-lease', reply);
  }

  /**
   * Record ids are already SHA-256 hashes of (scope, key) made by the engine — base64url, no
   * braces — so they go into the hash tag as they are, without hashing them a second time. A
   * custom caller passing its own ids gets them hashed (any text is safe then).
   */
  #keyOf(record: string): string {
    const keyspace = this.#keyspace;
    return HASHED_ID.test(record) ? `${keyspace.prefix}{${record}}` : keyspace.key(record);
  }

  #now(): string {
    return this.#clockForTests ? String(this.#clockForTests()) : '';
  }

  #decodeRecord(reply: unknown): AcquireOutcome {
    try {
      return decodeAcquire(reply);
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      throw new StoreDataError('acquire', this.#keyspace.prefix, error.message, error);
    }
  }

  /** Release a claim that was taken after its caller gave up (the client was told 503). */
  #releaseLate(key: string, token: string, outcome: AcquireOutcome): Promise<unknown> {
    if (outcome.kind !== 'claimed' && outcome.kind !== 'taken-over') return Promise.resolve();
    // Unguarded: the release must run whenever Redis gets to it. By token, so it can only
    // delete this claim. (A taken-over record is deleted too: the previous owner's lease had
    // expired, and it is fenced whether the record is ours or gone.)
    return this.#runner.run(releaseClaim, [key], [token]);
  }

  /** Remember a timed-out acquire until its late reply has been compensated, or refused. */
  #track(record: string, sent: Promise<AcquireOutcome>, undo: (o: AcquireOutcome) => unknown) {
    const settled: Promise<unknown> = sent
      .then(undo)
      // Only the wait for it matters here: core's compensation runs this same `undo` and
      // reports its failure (`store.compensated`), and the call's own error was reported.
      .catch(() => {})
      .finally(() => {
        if (this.#unsettled.get(record) === settled) this.#unsettled.delete(record);
      });
    this.#unsettled.set(record, settled);
  }
}

function isTimeout(error: unknown): boolean {
  return isKeelError(error) && error.code === coreCodes.STORE_TIMEOUT;
}

function decodeComplete(reply: unknown) {
  return decodeTransition('complete-record', reply);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
