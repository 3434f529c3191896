/**
 * The metric catalogue: every measurement Keel's adapters record, with its OpenTelemetry and
 * Prometheus names. One table, so `@keel/otel` and `@keel/prometheus` record the same metrics
 * under each ecosystem's conventions.
 *
 * Labels are bounded by construction: each is a value Keel's code or the application's
 * configuration chooses (a limiter's name, an outcome, an error code), never a request's data.
 * Client keys, cache keys, idempotency keys, session ids, user ids, IP addresses and lock
 * resource names are never labels, even hashed (a hash is as unbounded as its input).
 */

/** Where a label comes from, and its name in each ecosystem. */
export interface LabelSpec {
  /** OpenTelemetry attribute name (semantic conventions where one fits, else `keel.*`). */
  readonly otel: string;
  /** Prometheus label name (snake_case). */
  readonly prometheus: string;
}

/** Every label the catalogue uses. */
export const LABELS = {
  /** The feature whose store was called: `rate-limit`, `idempotency`, `session`, `cache`, `lock`. */
  feature: { otel: 'keel.feature', prometheus: 'feature' },
  /** A store call or failed operation, as the feature names it (`check`, `acquire`, `read`). */
  operation: { otel: 'keel.operation', prometheus: 'operation' },
  /** What happened, in the emitting event's own words (`allowed`, `replayed`, `hit`). */
  outcome: { otel: 'keel.outcome', prometheus: 'outcome' },
  /** Why, when the event says (`credentials`, `stale-if-error`, `expired`). */
  reason: { otel: 'keel.reason', prometheus: 'reason' },
  /** The rate limiter's `name` option (configuration, not a client key). */
  limiter: { otel: 'keel.rate_limit.limiter', prometheus: 'limiter' },
  /** A violated rate-limit policy's name (configuration). */
  policy: { otel: 'keel.rate_limit.policy', prometheus: 'policy' },
  /** Who decided a rate-limit check: `store`, `deny-cache`, `fallback`, `failure-policy`. */
  source: { otel: 'keel.rate_limit.source', prometheus: 'source' },
  /** The rate limiter's failure policy: `open`, `closed`, `fallback`. */
  failurePolicy: { otel: 'keel.rate_limit.failure_policy', prometheus: 'failure_policy' },
  /** Where a cache hit came from: `l1` (process) or `store`. */
  layer: { otel: 'keel.cache.layer', prometheus: 'layer' },
  /** OpenTelemetry's `error.type`: the Keel error code (`KEEL_ERR_STORE_TIMEOUT`) or class name. */
  errorType: { otel: 'error.type', prometheus: 'error_type' },
  /** A circuit breaker state: `closed`, `half-open`, `open`. */
  state: { otel: 'keel.circuit.state', prometheus: 'state' },
  /** A one-time warning's name (`trustProxyAll`, `evictionPolicy`). */
  warning: { otel: 'keel.warning', prometheus: 'warning' },
} as const satisfies Record<string, LabelSpec>;

export type LabelName = keyof typeof LABELS;

export type MetricKind = 'counter' | 'histogram' | 'gauge';

/** One metric: its kind, ordered labels and names. */
export interface MetricSpec {
  readonly kind: MetricKind;
  /** Label names, in the order the measurer passes their values. */
  readonly labels: readonly LabelName[];
  /** One sentence: the OpenTelemetry description and the Prometheus HELP text. */
  readonly description: string;
  /** OpenTelemetry instrument name and UCUM unit. */
  readonly otel: { readonly name: string; readonly unit: string };
  /** Prometheus name without the adapter's prefix (`keel_` by default), suffixes included. */
  readonly prometheus: string;
  /** OpenTelemetry attributes every point carries (`db.system.name` for store metrics). */
  readonly constantAttributes?: Readonly<Record<string, string>>;
}

const REDIS = { 'db.system.name': 'redis' } as const;

/**
 * Store-call latency buckets, seconds: 100 µs to 1 s, dense below 5 ms where a healthy Redis
 * answers (a loopback EVALSHA takes ~0.1–0.3 ms; a deadline is tens of ms).
 */
export const STORE_CALL_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

function counter(
  labels: readonly LabelName[],
  otel: string,
  unit: string,
  prometheus: string,
  description: string,
): MetricSpec & { readonly kind: 'counter' } {
  return { kind: 'counter', labels, description, otel: { name: otel, unit }, prometheus };
}

/** Every metric Keel's adapters register, by catalogue name. */
export const METRICS = {
  rateLimitDecisions: counter(
    ['limiter', 'outcome', 'source'],
    'keel.rate_limit.decisions',
    '{decision}',
    'rate_limit_decisions_total',
    'Rate-limit decisions by limiter, outcome (allowed, limited) and source.',
  ),
  rateLimitViolations: counter(
    ['limiter', 'policy'],
    'keel.rate_limit.violations',
    '{violation}',
    'rate_limit_violations_total',
    'Violated rate-limit policies: a request refused by two policies counts once for each.',
  ),
  rateLimitRefunds: counter(
    ['limiter'],
    'keel.rate_limit.refunds',
    '{refund}',
    'rate_limit_refunds_total',
    'Requests whose rate-limit units were given back (refund(), skipSuccessfulRequests, skipFailedRequests).',
  ),
  rateLimitStoreFailures: counter(
    ['limiter', 'operation', 'failurePolicy'],
    'keel.rate_limit.store_failures',
    '{failure}',
    'rate_limit_store_failures_total',
    'Rate-limit checks and refunds the store could not answer, decided by the failure policy.',
  ),
  cacheLookups: counter(
    ['outcome', 'layer', 'reason'],
    'keel.cache.lookups',
    '{lookup}',
    'cache_lookups_total',
    'Cache lookups by outcome (hit, miss, stale, bypass), with the layer of a hit and the reason of a stale serve, bypass or collapsed miss.',
  ),
  cacheWrites: counter(
    ['outcome', 'reason'],
    'keel.cache.writes',
    '{write}',
    'cache_writes_total',
    'Cache writes: stored, or refused with a reason.',
  ),
  cacheErrors: counter(
    ['operation'],
    'keel.cache.errors',
    '{error}',
    'cache_errors_total',
    'Cache store operations that failed (the cache was bypassed).',
  ),
  cacheInvalidations: counter(
    [],
    'keel.cache.invalidations',
    '{invalidation}',
    'cache_invalidations_total',
    'Calls to invalidate cache entries by key or tag.',
  ),
  cacheL1Resyncs: counter(
    ['reason'],
    'keel.cache.l1_resyncs',
    '{resync}',
    'cache_l1_resyncs_total',
    'Times the in-process L1 was cleared after missing invalidation messages.',
  ),
  idempotencyRequests: counter(
    ['outcome', 'reason'],
    'keel.idempotency.requests',
    '{request}',
    'idempotency_requests_total',
    'Requests with an Idempotency-Key by outcome: claimed, taken-over, replayed, waiting, in-flight, mismatch, not-stored, rejected.',
  ),
  idempotencyClaimResults: counter(
    ['outcome', 'operation', 'reason'],
    'keel.idempotency.claim_results',
    '{result}',
    'idempotency_claim_results_total',
    "What became of a claim's owner: completed, released, fenced, aborted, store-error.",
  ),
  sessionOutcomes: counter(
    ['outcome', 'reason'],
    'keel.session.outcomes',
    '{event}',
    'session_outcomes_total',
    'Session anomalies and bulk logouts: corrupt, write-refused, conflict, user-logout.',
  ),
  lockOutcomes: counter(
    ['outcome', 'reason'],
    'keel.lock.outcomes',
    '{event}',
    'lock_outcomes_total',
    'Lock events: acquired, failed, extended, lost, released (reason held or expired).',
  ),
  storeCallDuration: {
    kind: 'histogram',
    labels: ['feature', 'operation', 'outcome', 'errorType'],
    description: 'Latency of Redis store calls, deadline and circuit breaker included.',
    otel: { name: 'keel.store.call.duration', unit: 's' },
    prometheus: 'store_call_duration_seconds',
    constantAttributes: REDIS,
  },
  storeCompensations: {
    ...counter(
      ['feature', 'operation', 'outcome'],
      'keel.store.compensations',
      '{compensation}',
      'store_compensations_total',
      'Store calls given up on that succeeded late, and whether their effect was undone.',
    ),
    constantAttributes: REDIS,
  },
  storeCircuitState: {
    kind: 'gauge',
    labels: ['feature', 'state'],
    description:
      'Circuit breaker state per feature: 1 for the current state, 0 for the others (the last reported state when a feature has several stores).',
    otel: { name: 'keel.store.circuit.state', unit: '1' },
    prometheus: 'store_circuit_state',
    constantAttributes: REDIS,
  },
  storeCircuitTransitions: {
    ...counter(
      ['feature', 'state'],
      'keel.store.circuit.transitions',
      '{transition}',
      'store_circuit_transitions_total',
      'Circuit breaker state changes, by the state entered.',
    ),
    constantAttributes: REDIS,
  },
  storeClientErrors: {
    ...counter(
      [],
      'keel.store.client_errors',
      '{error}',
      'store_client_errors_total',
      'Errors the Redis client reported (connection refused, reset).',
    ),
    constantAttributes: REDIS,
  },
  warnings: counter(
    ['warning'],
    'keel.warnings',
    '{warning}',
    'warnings_total',
    'One-time warnings about risky setups, by name.',
  ),
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

/** Catalogue names of the counters (what `MeasurementSink.count` receives). */
export type CounterName = {
  [M in MetricName]: (typeof METRICS)[M]['kind'] extends 'counter' ? M : never;
}[MetricName];

/** The circuit breaker states, in gauge order. */
export const CIRCUIT_STATES = ['closed', 'half-open', 'open'] as const;

export type CircuitStateName = (typeof CIRCUIT_STATES)[number];
