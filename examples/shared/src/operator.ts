/**
 * The numbers behind the operator page (`/admin/keel`): read from the app's prom-client
 * registry — the same metrics `/metrics` serves — and summed over their bounded labels into
 * cumulative totals. The page polls them and turns differences between polls into live rates
 * and latency percentiles, so the server keeps no history.
 */
import type { Registry } from 'prom-client';

/** Cumulative store-call latency: counts per upper bound (seconds), as Prometheus buckets. */
export interface LatencyHistogram {
  /** Finite upper bounds, seconds, increasing. */
  bounds: number[];
  /** Calls at or under each bound (cumulative), in `bounds` order. */
  counts: number[];
  /** Every call, including those above the last bound. */
  count: number;
  /** Seconds, summed. */
  sum: number;
  /** Calls that failed or timed out (circuit-open refusals included). */
  errors: number;
}

export interface OperatorSnapshot {
  /** ms since the epoch, when read. */
  time: number;
  rateLimit: { allowed: number; limited: number };
  /** Lookups by outcome; `bypass` leaves out store failures (each is also a miss). */
  cache: { hit: number; miss: number; stale: number; bypass: number };
  idempotency: { claimed: number; replayed: number; inFlight: number; mismatch: number };
  /** All Redis store calls, and per feature with its breaker state. */
  store: {
    all: LatencyHistogram;
    features: Record<string, LatencyHistogram & { breaker: string }>;
  };
}

interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

type Values = ReadonlyMap<string, readonly Value[]>;

function total(values: Values, name: string, match: (labels: Value['labels']) => boolean): number {
  let sum = 0;
  for (const v of values.get(name) ?? []) if (match(v.labels)) sum += v.value;
  return sum;
}

/** Labels include every pair of `want`. */
const having = (want: Record<string, string>) => (labels: Value['labels']) =>
  Object.entries(want).every(([k, v]) => labels[k] === v);

function emptyHistogram(): LatencyHistogram {
  return { bounds: [], counts: [], count: 0, sum: 0, errors: 0 };
}

/** Add one labelled histogram sample (a bucket, `_sum` or `_count` line) into `into`. */
function addSample(into: LatencyHistogram, name: string, v: Value): void {
  if (v.metricName === `${name}_sum`) into.sum += v.value;
  else if (v.metricName === `${name}_count`) {
    into.count += v.value;
    if (v.labels.outcome !== 'ok') into.errors += v.value;
  } else if (v.metricName === `${name}_bucket` && v.labels.le !== '+Inf') {
    const bound = Number(v.labels.le);
    let i = into.bounds.indexOf(bound);
    if (i === -1) {
      i = into.bounds.push(bound) - 1;
      into.counts.push(0);
    }
    into.counts[i]! += v.value;
  }
}

function latency(values: Values, name: string) {
  const all = emptyHistogram();
  const features: Record<string, LatencyHistogram & { breaker: string }> = {};
  for (const v of values.get(name) ?? []) {
    const feature = String(v.labels.feature);
    features[feature] ??= { ...emptyHistogram(), breaker: 'closed' };
    addSample(all, name, v);
    addSample(features[feature], name, v);
  }
  return { all, features };
}

/** The operator page's numbers, from Keel's metrics on `registry` (prefix `keel_`). */
export async function operatorSnapshot(registry: Registry): Promise<OperatorSnapshot> {
  const metrics = await registry.getMetricsAsJSON();
  const values: Values = new Map(metrics.map((m) => [m.name, m.values as unknown as Value[]]));
  const count = (name: string, labels: Record<string, string>) =>
    total(values, `keel_${name}`, having(labels));
  const store = latency(values, 'keel_store_call_duration_seconds');
  for (const v of values.get('keel_store_circuit_state') ?? []) {
    const feature = String(v.labels.feature);
    if (v.value !== 1) continue;
    store.features[feature] ??= { ...emptyHistogram(), breaker: 'closed' };
    store.features[feature].breaker = String(v.labels.state);
  }
  const lookups = (outcome: string) => count('cache_lookups_total', { outcome });
  const requests = (outcome: string) => count('idempotency_requests_total', { outcome });
  return {
    time: Date.now(),
    rateLimit: {
      allowed: count('rate_limit_decisions_total', { outcome: 'allowed' }),
      limited: count('rate_limit_decisions_total', { outcome: 'limited' }),
    },
    cache: {
      hit: lookups('hit'),
      miss: lookups('miss'),
      stale: lookups('stale'),
      // A store failure makes the cache emit a bypass and then a miss for the same request:
      // counted once, as the miss.
      bypass: total(
        values,
        'keel_cache_lookups_total',
        (l) => l.outcome === 'bypass' && !String(l.reason).startsWith('store-'),
      ),
    },
    idempotency: {
      claimed: requests('claimed'),
      replayed: requests('replayed'),
      inFlight: requests('in-flight'),
      mismatch: requests('mismatch'),
    },
    store,
  };
}
