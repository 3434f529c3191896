/**
 * The guard every Redis-backed store call goes through: fail fast while the client is
 * reconnecting or the circuit is open, otherwise run the call under its deadline, feed the
 * breaker, and report latency through events. Features then map a thrown store failure to
 * their failure policy.
 */
import { isStoreFailure, StoreTimeoutError, StoreUnavailableError } from '../errors.js';
import type { KeelEvents } from '../events.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
import type { RedisClient } from './client.js';
import { withDeadline } from './deadline.js';

export interface StoreCallerOptions {
  /** Feature name for events, e.g. `rate-limit`. */
  feature: string;
  /** Deadline of each call, ms. */
  deadlineMs: number;
  /** Circuit breaker settings, or `false` to disable it. */
  breaker?: CircuitBreakerOptions | false;
  events?: KeelEvents;
  /** The client, to fail fast while it reconnects instead of waiting out the deadline. */
  client?: RedisClient;
}

export type StoreCaller = <T>(operation: string, call: () => Promise<T>) => Promise<T>;

/** ioredis states in which a command cannot be sent right now. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end']);

export function createStoreCaller(options: StoreCallerOptions): StoreCaller {
  const { feature, deadlineMs, events, client } = options;
  const breaker =
    options.breaker === false
      ? undefined
      : new CircuitBreaker({
          ...options.breaker,
          onStateChange: (state) => {
            events?.emit('store.circuit', { feature, state });
            if (options.breaker) options.breaker.onStateChange?.(state);
          },
        });

  return async function storeCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (client && DOWN_STATES.has(client.status)) {
      throw new StoreUnavailableError(operation, `Redis client is ${client.status}`);
    }
    if (breaker && !breaker.tryPass()) {
      throw new StoreUnavailableError(operation, 'circuit open after repeated store failures');
    }
    const started = events?.active ? performance.now() : 0;
    try {
      const result = await withDeadline(call(), deadlineMs, operation);
      breaker?.success();
      if (events?.active) {
        events.emit(
          'store.call',
          { feature, operation, outcome: 'ok' },
          { durationMs: performance.now() - started },
        );
      }
      return result;
    } catch (error) {
      const timeout = error instanceof StoreTimeoutError;
      // Script/logic errors (wrong type, bad reply) are bugs, not outages: they don't trip the breaker.
      const outage = timeout || isConnectionError(error);
      if (outage) breaker?.failure();
      else breaker?.success();
      events?.emit(
        'store.call',
        { feature, operation, outcome: timeout ? 'timeout' : 'error' },
        { durationMs: performance.now() - started, error },
      );
      if (outage && !isStoreFailure(error)) {
        throw new StoreUnavailableError(operation, (error as Error).message, error);
      }
      throw error;
    }
  };
}

/** Errors that mean "Redis could not be reached" rather than "Redis answered with an error". */
function isConnectionError(error: unknown): boolean {
  if (isStoreFailure(error)) return true;
  if (!(error instanceof Error)) return false;
  const name = error.name;
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return true;
  const message = error.message;
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|enableOfflineQueue|CLUSTERDOWN|LOADING|Failed to refresh slots cache|None of startup nodes is available/i.test(
    message,
  );
}
