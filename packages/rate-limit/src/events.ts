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
     * A request was refused; `policies` are the violated ones. `reason` is `cost-exceeds-limit`
     * when the request costs more than a policy can ever grant (it never passes).
     */
    'rate-limit.limited': {
      limiter: string;
      key: string;
      policies: string[];
      source: DecisionSource;
      reason: 'limited' | 'cost-exceeds-limit';
    };
    /**
     * The store could not answer (deadline, outage, open circuit, full memory store) and the
     * failure policy decided instead: emitted for every such request, including each fallback.
     */
    'rate-limit.store-failure': {
      limiter: string;
      operation: 'check' | 'refund';
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
    /** Units were given back (`refund()`, `skipSuccessfulRequests`, `skipFailedRequests`). */
    'rate-limit.refunded': { limiter: string; key: string; cost: number };
  }
}
