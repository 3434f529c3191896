/**
 * The events this package emits, added to @keel/core's event map. Listen with the `events`
 * option (`createEvents(listener)` or a bare listener function).
 */
import type { FailurePolicy } from '@keel/core';

/** Who answered a check. */
export type DecisionSource = 'store' | 'deny-cache' | 'fallback' | 'failure-policy' | 'none';

declare module '@keel/core' {
  interface KeelEventMap {
    /** A request passed every policy (only emitted while somebody listens). */
    'rate-limit.allowed': { limiter: string; key: string; source: DecisionSource };
    /**
     * A request was refused; `policies` are the violated ones. `reason` is `blocked` while the
     * key is blocked (`block()`, `blockDurationMs`), `cost-exceeds-limit` when the request costs
     * more than a policy can ever grant (it never passes).
     */
    'rate-limit.limited': {
      limiter: string;
      key: string;
      policies: string[];
      source: DecisionSource;
      reason: 'limited' | 'blocked' | 'cost-exceeds-limit';
    };
    /**
     * The store could not answer (deadline, outage, open circuit, full memory store) and the
     * failure policy decided instead: emitted for every such request, including each fallback.
     */
    'rate-limit.store-failure': {
      limiter: string;
      operation: 'check' | 'peek' | 'refund' | 'penalize' | 'reward' | 'block' | 'reset';
      failurePolicy: FailurePolicy;
      store: string;
    };
    /**
     * A full memory store evicted the `evicted` counters nearest to expiry to count new
     * clients (their clients start afresh). The first time, a `memoryStoreFull` warning too.
     */
    'rate-limit.evicted': {
      store: 'memory';
      evicted: number;
      maxEntries: number;
      maxBytes: number;
    };
    /**
     * A key is blocked from now on for `durationMs`: `policy` refused it and has
     * `blockDurationMs` (`source: 'policy'`), or the application called `block()` (`policy`
     * is then every policy of the limiter, `'*'`).
     */
    'rate-limit.blocked': {
      limiter: string;
      key: string;
      policy: string;
      durationMs: number;
      source: 'policy' | 'block';
    };
    /** Units were charged or given back by `penalize()` (`units > 0`) or `reward()` (`< 0`). */
    'rate-limit.adjusted': { limiter: string; key: string; units: number };
    /** Units were given back (`refund()`, `skipSuccessfulRequests`, `skipFailedRequests`). */
    'rate-limit.refunded': { limiter: string; key: string; cost: number };
  }
}
