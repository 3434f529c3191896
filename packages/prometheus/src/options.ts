/**
 * The options of `createPrometheusMetrics()`, checked once into a {@link PrometheusConfig}.
 */
import { type KeelEvents, optionNames, validatorFor } from '@keel/core';
import { DEFAULT_MAX_SERIES_PER_METRIC, parseBuckets, parseEvents } from '@keel/telemetry';
import type { Registry } from 'prom-client';

export interface PrometheusMetricsOptions {
  /**
   * The prom-client `Registry` Keel's metrics are registered on: `new Registry()`, or
   * prom-client's global `register` to share the default one. Required, so Keel never writes to
   * a registry you did not choose.
   */
  registry: Registry;
  /**
   * The events to record. Pass the same object as the `events` option of every Keel feature
   * (limiters, stores, caches, session stores, locks); `attach()` adds more sources.
   * @default a new `createEvents()`, available as `.events`
   */
  events?: KeelEvents;
  /** Prefix of every metric name. @default 'keel_' */
  prefix?: string;
  /**
   * Buckets of `keel_store_call_duration_seconds`, in seconds, increasing.
   * @default 100 µs … 1 s, dense below 5 ms (`STORE_CALL_BUCKETS_SECONDS`)
   */
  buckets?: readonly number[];
  /**
   * Most label combinations kept per metric; further ones are counted on one series whose
   * labels are all `_overflow`. Keel's labels are bounded, so this only bites when a
   * configuration is not (a limiter named after each user).
   * @default 1000
   */
  maxSeriesPerMetric?: number;
}

/** The checked options. */
export interface PrometheusConfig {
  readonly registry: Registry;
  readonly events: KeelEvents;
  readonly prefix: string;
  readonly buckets: readonly number[];
  readonly maxSeriesPerMetric: number;
}

const COMPONENT = 'createPrometheusMetrics';
const KNOWN = optionNames<PrometheusMetricsOptions>({
  registry: true,
  events: true,
  prefix: true,
  buckets: true,
  maxSeriesPerMetric: true,
});
const PREFIX = {
  test: /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/,
  allowed:
    'a Prometheus metric name prefix (letters, digits, "_" and ":", not starting with a digit)',
};

export function parsePrometheusOptions(options: PrometheusMetricsOptions): PrometheusConfig {
  const v = validatorFor(COMPONENT);
  v.knownOptions(options, KNOWN);
  const registry = options?.registry;
  if (
    typeof registry !== 'object' ||
    registry === null ||
    typeof registry.getSingleMetric !== 'function' ||
    typeof registry.registerMetric !== 'function'
  ) {
    throw v.fail(
      'registry',
      registry,
      "a prom-client Registry (`new Registry()`, or prom-client's `register`)",
    );
  }
  const events = parseEvents(v, options.events);
  const prefix = options.prefix === '' ? '' : v.string('prefix', options.prefix, 'keel_', PREFIX);
  return {
    registry,
    events,
    prefix,
    buckets: parseBuckets(v, options.buckets),
    maxSeriesPerMetric: v.positiveInteger(
      'maxSeriesPerMetric',
      options.maxSeriesPerMetric,
      DEFAULT_MAX_SERIES_PER_METRIC,
    ),
  };
}
