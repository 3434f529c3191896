/**
 * Idempotency for any function, not only HTTP handlers: queue consumers, webhook processors and
 * scheduled jobs, where a message is delivered more than once (AWS Powertools'
 * `makeIdempotent`, on Keel's stores). `run(key, fn)` runs `fn` once per key: the first call
 * runs and stores its result (JSON by default), later calls get the stored result, a
 * concurrent duplicate waits up to `waitMs` or gets a coded in-flight error, a different
 * fingerprint a coded reuse error. A crashed worker's claim is taken over once its lease ends,
 * and its late completion is fenced. Same state machine, stores and events as HTTP: both are
 * layers over claims.ts.
 */
import { isStoreFailure, optionNames, validatorFor } from '@keel/core';
import {
  ClaimKeeper,
  type ClaimOutcome,
  type ClaimSettings,
  type IdempotencyClaim,
} from './claims.js';
import {
  IdempotencyKeyReusedError,
  IdempotencyRequestInFlightError,
  IdempotencyResponseNotStoredError,
} from './errors.js';
import { canonicalJson, hashFingerprint, sha256 } from './fingerprint.js';
import { type ClaimOptions, parseClaimSettings } from './options.js';
import type { Completion, IdempotencyStore } from './types.js';

/** Turns a result into bytes to store, and back. */
export interface ResultCodec {
  encode(value: unknown): string | Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/**
 * JSON, as `JSON.stringify` writes it (a Date comes back as its ISO string; `undefined` as
 * `undefined`). Pass your own codec (superjson, MessagePack, v8.serialize…) for other types.
 */
export const JSON_CODEC: ResultCodec = Object.freeze({
  encode: (value: unknown) => JSON.stringify(value) ?? '',
  decode: (bytes: Uint8Array) =>
    bytes.length === 0 ? undefined : JSON.parse(Buffer.from(bytes).toString('utf8')),
});

export interface IdempotentRunnerOptions extends ClaimOptions {
  /**
   * The operation's name (1–64 of `A-Za-z0-9_.:-`): part of every record id, so two operations
   * given the same key (a job id, say) never share a result. Required.
   */
  name: string;
  /** Where records live. @default a memory store (one process only) */
  store?: IdempotencyStore;
  /**
   * How long a claim stays exclusive without a heartbeat, ms: a worker that dies mid-call
   * blocks its key for at most this long, then a retry takes over. @default 30_000
   */
  leaseMs?: number;
  /** Heartbeat period of a running call's lease, ms; 0 disables it. @default leaseMs / 3 */
  renewEveryMs?: number;
  /** How long a result is kept and returned again, ms (from completion). @default 86_400_000 */
  retentionMs?: number;
  /**
   * When the same key is running elsewhere, wait up to this long for its result instead of
   * throwing `IdempotencyRequestInFlightError` at once, ms. @default 0
   */
  waitMs?: number;
  /** How results are stored. @default JSON_CODEC */
  codec?: ResultCodec;
  /**
   * Largest encoded result stored, bytes. A larger one is returned to its caller but not kept:
   * later calls get `IdempotencyResponseNotStoredError`, never a second run. @default 1_048_576
   */
  maxResultBytes?: number;
}

/** Options of one `run`. */
export interface RunOptions {
  /**
   * What the call is about (its arguments, a message body…): hashed from its canonical JSON
   * (or as given, for a string or bytes). A later call with the same key and another
   * fingerprint throws `IdempotencyKeyReusedError` instead of getting the first result.
   * @default undefined (the key alone decides)
   */
  fingerprint?: unknown;
}

/** How `wrap` and `makeIdempotent` take the key and fingerprint from a call's arguments. */
export interface WrapOptions<A extends unknown[]> {
  /** The idempotency key of a call: a message id, a job id, a payment id. */
  key: (...args: A) => string;
  /** The fingerprint of a call (see {@link RunOptions.fingerprint}). */
  fingerprint?: (...args: A) => unknown;
}

export interface IdempotentRunner {
  readonly name: string;
  /** Run `fn` once for `key`; later calls get its stored result. */
  run<T>(key: string, fn: () => T | Promise<T>, options?: RunOptions): Promise<T>;
  /** `fn` made idempotent: each call runs once per key taken from its arguments. */
  wrap<A extends unknown[], T>(
    fn: (...args: A) => T | Promise<T>,
    options: WrapOptions<A>,
  ): (...args: A) => Promise<Awaited<T>>;
}

const KNOWN = optionNames<IdempotentRunnerOptions>({
  name: true,
  store: true,
  leaseMs: true,
  renewEveryMs: true,
  retentionMs: true,
  waitMs: true,
  events: true,
  codec: true,
  maxResultBytes: true,
});
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** The stored status of a function's result: any 2xx marks a completed call. */
const RESULT_STATUS = 200;
/** The fingerprint stored when a call gives none. */
const NO_FINGERPRINT = '-';

export function createIdempotentRunner(options: IdempotentRunnerOptions): IdempotentRunner {
  const v = validatorFor('createIdempotentRunner');
  v.knownOptions(options, KNOWN);
  const name = v.string('name', options.name, undefined, {
    test: NAME,
    allowed: '1 to 64 letters, digits and "_.:-" naming the operation (e.g. "charge-payment")',
  });
  const claims = parseClaimSettings(v, options);
  const codec = options.codec ?? JSON_CODEC;
  if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
    throw v.fail('codec', codec, '{ encode(value), decode(bytes) }');
  }
  const maxResultBytes = v.positiveInteger(
    'maxResultBytes',
    options.maxResultBytes,
    1024 * 1024,
    'bytes',
  );
  return new Runner({ name, codec, maxResultBytes, keeper: new ClaimKeeper(claims), claims });
}

/** The parsed options of one runner. */
interface RunnerConfig {
  readonly name: string;
  readonly codec: ResultCodec;
  readonly maxResultBytes: number;
  readonly keeper: ClaimKeeper;
  readonly claims: ClaimSettings;
}

/** One operation's runs: claim by key, run, store the result, or answer from the record. */
class Runner implements IdempotentRunner {
  readonly name: string;

  constructor(private readonly config: RunnerConfig) {
    this.name = config.name;
  }

  async run<T>(key: string, fn: () => T | Promise<T>, options?: RunOptions): Promise<T> {
    const { keeper, codec, claims } = this.config;
    if (typeof key !== 'string' || key.length === 0) {
      throw validatorFor('run').fail(
        'key',
        key,
        'a non-empty string (a message, job or payment id)',
      );
    }
    // 132 bits of SHA-256, as for HTTP records; the 3-item array keeps apart HTTP's 2-item one.
    const record = sha256(JSON.stringify(['call', this.name, key])).slice(0, 22);
    let outcome: ClaimOutcome;
    try {
      outcome = await keeper.claim(record, fingerprintOf(options?.fingerprint));
    } catch (error) {
      // Fail closed: the function never runs without a claim.
      if (isStoreFailure(error)) {
        claims.events.emit('idempotency.rejected', { reason: 'store-unavailable' }, { error });
      }
      throw error;
    }
    switch (outcome.kind) {
      case 'execute':
        return this.execute(outcome.claim, fn);
      case 'replay':
        return codec.decode(outcome.response.body) as T;
      case 'in-flight':
        throw new IdempotencyRequestInFlightError(
          Math.max(1, Math.ceil(outcome.retryAfterMs / 1000)),
          'call',
        );
      case 'mismatch':
        throw new IdempotencyKeyReusedError('call');
      case 'not-stored':
        throw new IdempotencyResponseNotStoredError(outcome.status, 'call');
    }
  }

  wrap<A extends unknown[], T>(fn: (...args: A) => T | Promise<T>, options: WrapOptions<A>) {
    const v = validatorFor('wrap');
    v.func('fn', fn);
    const keyOf = v.func<WrapOptions<A>['key']>('key', options?.key);
    const fingerprint = v.optionalFunc<NonNullable<WrapOptions<A>['fingerprint']>>(
      'fingerprint',
      options.fingerprint,
    );
    return (...args: A) =>
      this.run<Awaited<T>>(keyOf(...args), async (): Promise<Awaited<T>> => await fn(...args), {
        fingerprint: fingerprint?.(...args),
      });
  }

  /** Run under the claim: release it when `fn` throws, else store what it returned. */
  private async execute<T>(claim: IdempotencyClaim, fn: () => T | Promise<T>): Promise<T> {
    const { keeper } = this.config;
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      // A failed call may run again: give the key up for the retry.
      await keeper.release(claim, { reason: 'error', error });
      throw error;
    }
    let done: Completion;
    try {
      done = this.completion(value);
    } catch (error) {
      // The call ran: a result the codec cannot encode still must not run it again.
      await keeper.complete(claim, { stored: false, status: RESULT_STATUS });
      throw error;
    }
    await keeper.complete(claim, done);
    return value;
  }

  /** The result as stored; too large a result keeps only the fact that the call ran. */
  private completion(value: unknown): Completion {
    const { codec, maxResultBytes } = this.config;
    const encoded = codec.encode(value);
    const body = typeof encoded === 'string' ? Buffer.from(encoded, 'utf8') : encoded;
    if (body.byteLength > maxResultBytes) return { stored: false, status: RESULT_STATUS };
    return { stored: true, response: { status: RESULT_STATUS, headers: {}, body } };
  }
}

/**
 * `fn` made idempotent by a key taken from its arguments, as AWS Powertools' `makeIdempotent`:
 * `makeIdempotent(charge, { name: 'charge', store, key: (order) => order.id })`.
 */
export function makeIdempotent<A extends unknown[], T>(
  fn: (...args: A) => T | Promise<T>,
  options: IdempotentRunnerOptions & WrapOptions<A>,
): (...args: A) => Promise<Awaited<T>> {
  const { key, fingerprint, ...runner } = options;
  return createIdempotentRunner(runner).wrap(fn, fingerprint ? { key, fingerprint } : { key });
}

function fingerprintOf(value: unknown): string {
  if (value === undefined) return NO_FINGERPRINT;
  if (typeof value === 'string' || value instanceof Uint8Array) return hashFingerprint(value);
  return hashFingerprint(canonicalJson(value));
}
