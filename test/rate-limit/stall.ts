/**
 * Shared pieces of the issue-12 tests: a limiter under concurrent load through a Redis stall,
 * a tally of who decided each request, and a probe that reads how many units a store holds
 * for a client without charging anything.
 */
import {
  createEvents,
  type FailurePolicy,
  type KeelEvent,
  type KeelRequest,
  type RedisClient,
} from '@keel/core';
import {
  ALGORITHMS,
  type AlgorithmName,
  createMemoryStore,
  createRateLimiter,
  createRedisStore,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitStore,
  type StorePolicy,
} from '@keel/rate-limit';

/**
 * A quota no test run can spend, over a window so long that the few seconds of a test refill
 * less than one unit of a bucket (100,000 per 10^10 ms: one unit per 100 s), so the units a
 * store holds are exactly the units it charged.
 */
export const LIMIT = 100_000;
export const WINDOW_MS = 10_000_000_000;
export const CLIENT_KEY = 'stalled-client';

export const request = (): KeelRequest => ({
  method: 'GET',
  path: '/',
  route: undefined,
  search: '',
  headers: {},
  remoteAddress: '198.51.100.30',
  body: undefined,
  rawBody: undefined,
  bodyParsed: false,
  raw: {},
});

/** How every request of a run was decided. */
export interface Tally {
  /** Allowed by the Redis store: exactly what Redis must hold afterwards. */
  storeAllowed: number;
  storeLimited: number;
  /** Decided by the in-memory fallback limiter. */
  fallbackAllowed: number;
  fallbackLimited: number;
  /** Decided by `open` (allowed) or `closed` (503) without any store. */
  failurePolicyAllowed: number;
  failurePolicyRefused: number;
}

export function emptyTally(): Tally {
  return {
    storeAllowed: 0,
    storeLimited: 0,
    fallbackAllowed: 0,
    fallbackLimited: 0,
    failurePolicyAllowed: 0,
    failurePolicyRefused: 0,
  };
}

export function count(tally: Tally, d: RateLimitDecision): void {
  if (d.source === 'store') {
    if (d.allowed) tally.storeAllowed++;
    else tally.storeLimited++;
  } else if (d.source === 'fallback') {
    if (d.allowed) tally.fallbackAllowed++;
    else tally.fallbackLimited++;
  } else if (d.source === 'failure-policy') {
    if (d.allowed) tally.failurePolicyAllowed++;
    else {
      // A 503 under `closed`: the client was told nothing happened, so nothing may be charged.
      if (d.response?.status !== 503) throw new Error(`closed answered ${d.response?.status}`);
      tally.failurePolicyRefused++;
    }
  } else {
    throw new Error(`unexpected decision source ${d.source}`);
  }
}

/** The store policy a single-policy limiter named `name` checks (its keys and numbers). */
export function policyOf(name: string, algorithm: AlgorithmName, limit = LIMIT): StorePolicy {
  return {
    keyParts: [name, name, ALGORITHMS[algorithm].keyTag],
    algorithm,
    limit,
    windowMs: WINDOW_MS,
    burst: limit,
  };
}

/**
 * Units a store holds for the client under `policy`, read with a check that can never pass
 * (its cost exceeds the capacity), so it charges nothing and reports what is left.
 */
export async function unitsHeld(
  store: RateLimitStore,
  policy: StorePolicy,
  clientKey = CLIENT_KEY,
): Promise<number> {
  const probe = await store.check({ clientKey, cost: policy.burst + 1, policies: [policy] });
  if (probe.allowed) throw new Error('the probe was charged');
  return policy.limit - probe.decisions[0]!.remaining;
}

export interface StalledLimiter {
  limiter: RateLimiter;
  fallback: RateLimitStore;
  seen: KeelEvent[];
  policy: StorePolicy;
}

/** A limiter on `client` with a short deadline and no breaker: every request tries Redis. */
export function stalledLimiter(
  client: RedisClient,
  prefix: string,
  algorithm: AlgorithmName,
  failurePolicy: FailurePolicy,
  deadlineMs = 50,
): StalledLimiter {
  const seen: KeelEvent[] = [];
  const events = createEvents((e) => seen.push(e));
  const fallback = createMemoryStore();
  const name = `stall-${algorithm}`;
  const limiter = createRateLimiter({
    name,
    store: createRedisStore({ client, prefix, deadlineMs, breaker: false, events }),
    fallbackStore: fallback,
    limit: LIMIT,
    windowMs: WINDOW_MS,
    algorithm,
    failurePolicy,
    keyGenerator: () => CLIENT_KEY,
    events,
  });
  return { limiter, fallback, seen, policy: policyOf(name, algorithm) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `workers` loops of checks, each starting its next check when the last one is decided; the
 * fault is injected `faultAfterMs` after the start and healed `faultMs` later, and the load
 * runs on for `afterMs`. Bounded by time, whatever Redis does.
 */
export async function loadThroughFault(
  limiter: RateLimiter,
  fault: { inject(): void; heal(): void },
  timing = { workers: 20, faultAfterMs: 60, faultMs: 300, afterMs: 120 },
): Promise<Tally> {
  const tally = emptyTally();
  let running = true;
  const worker = async () => {
    while (running) count(tally, await limiter.check(request()));
  };
  const workers = Array.from({ length: timing.workers }, worker);
  await sleep(timing.faultAfterMs);
  fault.inject();
  try {
    await sleep(timing.faultMs);
  } finally {
    fault.heal();
  }
  await sleep(timing.afterMs);
  running = false;
  await Promise.all(workers);
  return tally;
}

/**
 * Wait until every reply that was in flight during the fault has come back and its
 * compensation (a refund of a check answered too late) has reached Redis: a command sent now
 * on the same connection is answered after all of them. Twice, because a late reply's
 * refund is only sent once that reply has been handled.
 */
export async function drain(ping: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await ping();
    await sleep(20);
  }
}
