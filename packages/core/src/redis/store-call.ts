/**
 * The guard every Redis-backed store call goes through:
 *
 * 1. An open circuit fails at once. A client that is connecting or reconnecting gets the
 *    call's deadline to become ready (a failed wait counts against the breaker); a closed
 *    client fails at once.
 * 2. The call runs under its deadline. It receives a {@link StoreAttempt}: scripts run with it
 *    do nothing if they start after the caller gave up, so an abandoned call leaves no trace.
 * 3. Every error is classified once (`store-errors.ts`): outages trip the breaker; outages,
 *    refused commands and foreign data all become coded store failures, to which features
 *    apply their failure policy. Latency and outcome go out as a `store.call` event.
 * 4. A call given up on that succeeds late anyway (its reply was in flight) is compensated by
 *    the call's `undo`, when the feature gives one.
 * 5. While a Sentinel failover fences the client (`sentinel-failover.ts`), a call waits for the
 *    promoted replica within its deadline. A durable write (`waitForReplicas`) that fewer
 *    replicas confirmed than asked is an outage, and its `undo` runs.
 */
import { StoreTimeoutError, StoreUnavailableError } from '../errors.js';
import type { KeelEvents } from '../events.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
import { isTransientState, waitUntilReady } from './client-ready.js';
import { withDeadline } from './deadline.js';
import type { ReplicaWait, StoreAttempt } from './scripts.js';
import { type AnyRedisClient, type KeelRedisClient, keelClient } from './seam.js';
import { failoverInProgress, failoverSettled } from './sentinel-failover.js';
import { localNow, serverClockOf } from './server-clock.js';
import { classifyStoreError, toStoreError } from './store-errors.js';

export interface StoreCallerOptions {
  /** Feature name for events, e.g. `rate-limit`. */
  feature: string;
  /** Deadline of each call, ms. */
  deadlineMs: number;
  /** Circuit breaker settings, or `false` to disable it. */
  breaker?: CircuitBreakerOptions | false | undefined;
  events?: KeelEvents;
  /** The client, to wait for it while it connects and fail fast once it is closed. */
  client?: AnyRedisClient;
  /** The feature's key family (`keel:rl:`), named when Redis holds foreign data there. */
  keyFamily?: string;
  /**
   * Replicas that must confirm an acknowledged write before it counts (`WAIT`, pipelined after
   * the script), or undefined for none. Applies to {@link StoreCallerOptions.durableOperations}.
   */
  waitForReplicas?: ReplicaWait | undefined;
  /** The operations that are acknowledged writes: the ones `waitForReplicas` applies to. */
  durableOperations?: readonly string[];
}

/**
 * Run `call` under the store's deadline, breaker and error classification. `undo` compensates
 * a call that succeeded after the caller had given up on it.
 */
export type StoreCaller = <T>(
  operation: string,
  call: (attempt: StoreAttempt) => Promise<T>,
  undo?: (result: T) => Promise<unknown>,
) => Promise<T>;

/** ioredis states from which a client never comes back by itself. */
const CLOSED_STATES = new Set(['close', 'end', 'disconnecting']);

/** {@link StoreCallerOptions} parsed once: everything a call reads, named. */
interface StoreCallConfig {
  readonly feature: string;
  readonly deadlineMs: number;
  /** A script must start early enough for its reply to reach the caller within the deadline. */
  readonly replyMarginMs: number;
  readonly events: KeelEvents | undefined;
  readonly client: KeelRedisClient | undefined;
  /** The Sentinel failover fence is kept per ioredis client (it watches ioredis's sentinels). */
  readonly native: FencedClient | undefined;
  readonly breaker: CircuitBreaker | undefined;
  readonly keyFamily: string;
  readonly waitForReplicas: ReplicaWait | undefined;
  /** Operations that get `waitForReplicas`; empty without it. */
  readonly durableOperations: ReadonlySet<string>;
}

type FencedClient = Parameters<typeof failoverInProgress>[0];

function parseStoreCallerOptions(options: StoreCallerOptions): StoreCallConfig {
  const { feature, deadlineMs, events, waitForReplicas } = options;
  const client = options.client === undefined ? undefined : keelClient(options.client);
  const breakerOptions = options.breaker;
  const breaker =
    breakerOptions === false
      ? undefined
      : new CircuitBreaker({
          ...breakerOptions,
          onStateChange: (state) => {
            events?.emit('store.circuit', { feature, state });
            if (breakerOptions) breakerOptions.onStateChange?.(state);
          },
        });
  return {
    feature,
    deadlineMs,
    replyMarginMs: Math.min(5, deadlineMs / 10),
    events,
    client,
    native: client?.native as FencedClient | undefined,
    breaker,
    keyFamily: options.keyFamily ?? `${feature}:`,
    waitForReplicas,
    durableOperations: new Set(waitForReplicas ? (options.durableOperations ?? []) : []),
  };
}

export function createStoreCaller(options: StoreCallerOptions): StoreCaller {
  const caller = new GuardedStoreCaller(parseStoreCallerOptions(options));
  return caller.call.bind(caller);
}

/** One feature's store calls: the rules of the header above, one private method per wait. */
class GuardedStoreCaller {
  constructor(private readonly config: StoreCallConfig) {}

  async call<T>(
    operation: string,
    call: (attempt: StoreAttempt) => Promise<T>,
    undo?: (result: T) => Promise<unknown>,
  ): Promise<T> {
    const { client, breaker, deadlineMs, replyMarginMs } = this.config;
    const startedAt = localNow();
    let pending: Promise<T> | undefined;
    let passed = false;
    try {
      // A Sentinel failover under way: the old master may be demoted any moment now, and what
      // it acknowledges meanwhile would be discarded. Wait for the new one, within the deadline;
      // not an outage of Redis, so the breaker stays out of it. (The checks are synchronous
      // first: an await of nothing still costs every call a turn of the microtask queue.)
      const failover = client ? failoverInProgress(this.config.native!) : undefined;
      if (failover !== undefined) await this.failoverOver(operation, startedAt, failover);
      // The breaker first: while Redis stays down, an open circuit answers at once instead of
      // every call waiting out its deadline for a client that keeps reconnecting.
      if (breaker && !breaker.tryPass()) {
        throw new StoreUnavailableError(operation, 'circuit open after repeated store failures');
      }
      passed = true;
      if (client && client.status !== 'ready') await this.connected(operation, startedAt);
      const remainingMs = startedAt + deadlineMs - localNow();
      // Waiting for the connection used up the deadline: sending now could only be refused.
      if (remainingMs <= replyMarginMs) throw new StoreTimeoutError(operation, deadlineMs);
      const notAfterMs = startedAt + deadlineMs - replyMarginMs;
      const wait = this.config.durableOperations.has(operation)
        ? this.config.waitForReplicas
        : undefined;
      const replicated = wait && replicatedAttempt(notAfterMs, wait);
      pending = call(replicated ? replicated.attempt : { notAfterMs });
      const result = await withDeadline(pending, remainingMs, operation);
      if (replicated) this.checkReplicated(operation, result, replicated.shortfall(), undo);
      this.succeeded(operation, startedAt);
      return result;
    } catch (caught) {
      throw this.failed(operation, startedAt, caught, passed, pending, undo);
    }
  }

  /** A client not connected yet gets the call's deadline to become ready; a closed one fails. */
  private async connected(operation: string, startedAt: number): Promise<void> {
    const { client, deadlineMs } = this.config;
    if (!client || client.status === 'ready') return;
    if (CLOSED_STATES.has(client.status)) {
      throw new StoreUnavailableError(operation, `Redis client is ${client.status}`);
    }
    if (!isTransientState(client.status)) return;
    const status = client.status;
    if (!(await waitUntilReady(client, Math.max(0, startedAt + deadlineMs - localNow())))) {
      throw new StoreUnavailableError(
        operation,
        `Redis client still ${status === 'reconnecting' ? 'reconnecting' : 'connecting'} after ${deadlineMs} ms`,
      );
    }
  }

  /** While a Sentinel failover fences the client, wait for the promoted replica. */
  private async failoverOver(
    operation: string,
    startedAt: number,
    failover: string,
  ): Promise<void> {
    const { native, deadlineMs, replyMarginMs } = this.config;
    const left = Math.max(0, startedAt + deadlineMs - replyMarginMs - localNow());
    if (!(await failoverSettled(native!, left))) {
      throw new StoreUnavailableError(operation, failover);
    }
  }

  /** A durable write fewer replicas confirmed than asked: an outage, and undone. */
  private checkReplicated<T>(
    operation: string,
    result: T,
    shortfall: string | undefined,
    undo: ((result: T) => Promise<unknown>) | undefined,
  ): void {
    if (shortfall === undefined) return;
    // Written on the master only: a crash now loses it. Not acknowledged, so undone.
    if (undo) this.compensate(operation, Promise.resolve(result), undo);
    throw new StoreUnavailableError(operation, shortfall);
  }

  private succeeded(operation: string, startedAt: number): void {
    const { breaker, events, feature } = this.config;
    breaker?.success();
    if (events?.active) {
      events.emit(
        'store.call',
        { feature, operation, outcome: 'ok' },
        { durationMs: localNow() - startedAt },
      );
    }
  }

  /** Classify what a call ended in, report it, and return the error to throw. */
  private failed<T>(
    operation: string,
    startedAt: number,
    caught: unknown,
    passed: boolean,
    pending: Promise<T> | undefined,
    undo: ((result: T) => Promise<unknown>) | undefined,
  ): unknown {
    const { breaker, events, feature, keyFamily, deadlineMs, client } = this.config;
    const timeout = caught instanceof StoreTimeoutError;
    if (timeout && undo && pending) this.compensate(operation, pending, undo);
    // Refused as started too late, yet the reply came back before the local deadline: the
    // server-clock offset is wrong (the server's clock stepped, or its sample was coarse).
    if (
      client &&
      classifyStoreError(caught) === 'abandoned' &&
      localNow() < startedAt + deadlineMs - this.config.replyMarginMs
    ) {
      serverClockOf(client).distrust();
    }
    const { error, outage } = toStoreError(caught, { operation, feature, keyFamily, deadlineMs });
    // Only a call the breaker let through reports back to it.
    if (passed) {
      if (outage) breaker?.failure();
      else breaker?.success();
    }
    events?.emit(
      'store.call',
      { feature, operation, outcome: error instanceof StoreTimeoutError ? 'timeout' : 'error' },
      { durationMs: localNow() - startedAt, error },
    );
    return error;
  }

  /** A call given up on that succeeds anyway is undone by the feature's `undo`. */
  private compensate<T>(
    operation: string,
    pending: Promise<T>,
    undo: (result: T) => Promise<unknown>,
  ): void {
    const { events, feature } = this.config;
    pending.then(
      (result) =>
        undo(result).then(
          () => events?.emit('store.compensated', { feature, operation, outcome: 'ok' }),
          (error: unknown) =>
            events?.emit('store.compensated', { feature, operation, outcome: 'error' }, { error }),
        ),
      () => {},
    );
  }
}

/**
 * The attempt of a durable write (the runner pipelines `WAIT` after its script) and what the
 * `WAIT` said: `shortfall()` is why the write does not count, or undefined when it does (or
 * when the call sent no script, so no `WAIT` either).
 */
function replicatedAttempt(notAfterMs: number, wait: ReplicaWait) {
  let confirmed: number | undefined;
  const attempt: StoreAttempt = {
    notAfterMs,
    replicas: wait,
    replicated: (acknowledged) => {
      confirmed = acknowledged;
    },
  };
  const shortfall = (): string | undefined =>
    confirmed === undefined || confirmed >= wait.replicas
      ? undefined
      : `NOREPLICAS the write reached the master but ${confirmed} of ${wait.replicas} replica(s) confirmed it within ${wait.timeoutMs} ms (waitForReplicas)`;
  return { attempt, shortfall };
}
