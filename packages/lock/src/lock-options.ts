/**
 * `createLock()` options and per-call options: validated once into a `LockConfig` (the backend
 * built from them included). An invalid option throws `KEEL_ERR_INVALID_OPTION` naming it.
 */
import {
  type AnyRedisClient,
  createWarnings,
  DEFAULT_PREFIX,
  isSupportedClient,
  type KeelEvents,
  optionNames,
  SUPPORTED_CLIENTS,
  toEvents,
  validatePrefix,
  validatorFor,
  type Warnings,
} from '@keel/core';
import { type LockBackend, singleBackend } from './backend.js';
import { quorumBackend } from './redlock.js';
import type { LockStore } from './store.js';
import { MemoryLockStore } from './stores/memory.js';
import { createRedisLockStore, describeClient } from './stores/redis.js';
import type { AcquireOptions, CreateLockOptions, RetryOptions, WithLockOptions } from './types.js';

const KNOWN_OPTIONS = optionNames<CreateLockOptions>({
  client: true,
  clients: true,
  memory: true,
  prefix: true,
  deadlineMs: true,
  ttlMs: true,
  retry: true,
  driftFactor: true,
  renewRatio: true,
  breaker: true,
  events: true,
  warnings: true,
  clock: true,
  waitForReplicas: true,
});
const KNOWN_RETRY = optionNames<RetryOptions>({ attempts: true, delayMs: true, jitterMs: true });
export const KNOWN_ACQUIRE = optionNames<AcquireOptions>({
  ttlMs: true,
  retry: true,
  signal: true,
});
/** `tryAcquire` makes one attempt, so it takes no `retry`. */
export const KNOWN_TRY_ACQUIRE = optionNames<Omit<AcquireOptions, 'retry'>>({
  ttlMs: true,
  signal: true,
});
// `withLock` passes the acquire options on, so only its own are listed against the rest.
const KNOWN_WITH_LOCK = [
  ...KNOWN_ACQUIRE,
  ...optionNames<Omit<WithLockOptions, keyof AcquireOptions>>({ renewRatio: true }),
];

/** Shortest TTL accepted, ms: below it the drift allowance leaves no validity. */
const MIN_TTL_MS = 10;

export interface Retry {
  attempts: number;
  delayMs: number;
  jitterMs: number;
}

/** `createLock()`'s options, validated, and the backend they describe. */
export interface LockConfig {
  events: KeelEvents;
  now: () => number;
  ttlMs: number;
  renewRatio: number;
  retry: Retry;
  /** The validity an acquisition gives up to clock drift, ms. */
  driftMs: (ttlMs: number) => number;
  backend: LockBackend;
}

/** One `acquire`/`tryAcquire`/`withLock` call's options, validated. */
export interface CallConfig {
  ttl: number;
  retry: Retry;
  signal: AbortSignal | undefined;
}

type V = ReturnType<typeof validatorFor>;

export function parseLockOptions(options: CreateLockOptions): LockConfig {
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
      events,
      breaker: options.breaker,
      warnings: options.warnings,
      waitForReplicas: options.waitForReplicas,
    });
  const backend = backendOf(v, options, { now, driftMs, warnings, redisStore });
  return { events, now, ttlMs, renewRatio, retry, driftMs, backend };
}

/** A Redlock quorum (`clients`), one Redis (`client`) or this process's memory. */
function backendOf(
  v: V,
  options: CreateLockOptions,
  parts: {
    now: () => number;
    driftMs: (ttl: number) => number;
    warnings: Warnings;
    redisStore: (client: AnyRedisClient) => LockStore;
  },
): LockBackend {
  const { now, driftMs, warnings, redisStore } = parts;
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
    return quorumBackend(clients.map(redisStore), now, driftMs);
  }
  if (options.client !== undefined) {
    if (!isSupportedClient(options.client)) {
      throw v.fail('client', options.client, SUPPORTED_CLIENTS);
    }
    return singleBackend(redisStore(options.client), now);
  }
  const memory = options.memory ?? true;
  let store: LockStore;
  // The store's own default clock counts from the epoch, as its fencing floor needs.
  if (memory === true) store = new MemoryLockStore(options.clock ? { clock: now } : {});
  else if (memory instanceof MemoryLockStore) store = memory;
  else throw v.fail('memory', memory, 'true or a store from createMemoryLockStore()');
  return singleBackend(store, now);
}

const call = validatorFor('lock.acquire');

/** Validate one call's options against the manager's defaults. */
export function parseCallOptions(
  config: LockConfig,
  opts: AcquireOptions | undefined,
  known: readonly string[],
): CallConfig {
  call.knownOptions(opts, known);
  const o = opts ?? {};
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw call.fail('signal', signal, 'an AbortSignal');
  }
  return {
    ttl: call.integerInRange('ttlMs', o.ttlMs, config.ttlMs, MIN_TTL_MS, 2 ** 31 - 1, 'ms'),
    retry: o.retry === undefined ? config.retry : parseRetry(call, 'retry', o.retry, config.retry),
    signal,
  };
}

export function checkResource(resource: unknown): asserts resource is string {
  if (typeof resource !== 'string' || resource.length === 0) {
    throw call.fail('resource', resource, 'a non-empty string');
  }
}

/** `withLock`'s own checks (`fn` a function, its option names): its `renewRatio`. */
export function checkWithLock(fn: unknown, opts: WithLockOptions | undefined, fallback: number) {
  if (typeof fn !== 'function') throw call.fail('fn', fn, 'a function');
  call.knownOptions(opts, KNOWN_WITH_LOCK);
  return fraction(call, 'renewRatio', opts?.renewRatio, fallback, false);
}

export function fraction(
  v: V,
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

function parseRetry(v: V, option: string, value: RetryOptions | undefined, fallback: Retry): Retry {
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
