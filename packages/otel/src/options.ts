/**
 * The options of `createOtelMetrics()`, checked once into an {@link OtelConfig}. The API
 * peer is loaded only when an option needs it.
 */
import { type KeelEvents, optionNames, validatorFor } from '@keel/core';
import { DEFAULT_MAX_SERIES_PER_METRIC, parseBuckets, parseEvents } from '@keel/telemetry';
import type { Meter, Tracer } from '@opentelemetry/api';
import { loadOtelApi, type OtelApi } from './peer.js';
import { SCOPE_NAME, VERSION } from './version.js';

export interface OtelMetricsOptions {
  /**
   * The meter Keel's instruments are created on.
   * @default `metrics.getMeter('@keel/otel', VERSION)` from the global MeterProvider
   */
  meter?: Meter;
  /**
   * The events to record. Pass the same object as the `events` option of every Keel feature
   * (limiters, stores, caches, session stores, locks); `attach()` adds more sources.
   * @default a new `createEvents()`, available as `.events`
   */
  events?: KeelEvents;
  /**
   * A span per Redis store call (`<feature> <operation>`, kind CLIENT), a child of the span
   * active when the call finished (the HTTP request's, with HTTP instrumentation on). `true`
   * uses the global TracerProvider's `@keel/otel` tracer; or pass a `Tracer`.
   * @default false
   */
  spans?: boolean | Tracer;
  /**
   * Bucket boundaries advised for `keel.store.call.duration`, in seconds, increasing (a View
   * configured in the SDK takes precedence).
   * @default 100 µs … 1 s, dense below 5 ms (`STORE_CALL_BUCKETS_SECONDS`)
   */
  buckets?: readonly number[];
  /**
   * Most attribute combinations kept per instrument; further ones are recorded with every
   * Keel attribute set to `_overflow`. Keel's attributes are bounded, so this only bites when a
   * configuration is not (a limiter named after each user).
   * @default 1000
   */
  maxSeriesPerMetric?: number;
}

/** The checked options. */
export interface OtelConfig {
  readonly meter: Meter;
  readonly events: KeelEvents;
  /**
   * Present when spans are on. `tracer` is a function: the global TracerProvider's tracer is
   * looked up per span, so an SDK registered after `createOtelMetrics()` still gets the spans.
   */
  readonly tracing: { readonly tracer: () => Tracer; readonly api: OtelApi } | undefined;
  readonly buckets: readonly number[];
  readonly maxSeriesPerMetric: number;
}

const COMPONENT = 'createOtelMetrics';
const KNOWN = optionNames<OtelMetricsOptions>({
  meter: true,
  events: true,
  spans: true,
  buckets: true,
  maxSeriesPerMetric: true,
});

function tracerOf(api: OtelApi, spans: true | Tracer): () => Tracer {
  if (spans !== true) return () => spans;
  return () => api.trace.getTracer(SCOPE_NAME, VERSION);
}

export function parseOtelOptions(options: OtelMetricsOptions = {}): OtelConfig {
  const v = validatorFor(COMPONENT);
  v.knownOptions(options, KNOWN);
  const { meter, spans } = options;
  if (meter !== undefined && typeof meter?.createCounter !== 'function') {
    throw v.fail('meter', meter, 'an OpenTelemetry Meter (`meterProvider.getMeter(name)`)');
  }
  const spansOn = spans !== undefined && spans !== false;
  if (spansOn && spans !== true && typeof spans?.startSpan !== 'function') {
    throw v.fail('spans', spans, 'true, false or an OpenTelemetry Tracer');
  }
  const events = parseEvents(v, options.events);
  const api = meter === undefined || spansOn ? loadOtelApi() : undefined;
  return {
    meter: meter ?? api!.metrics.getMeter(SCOPE_NAME, VERSION),
    events,
    tracing: spansOn ? { api: api!, tracer: tracerOf(api!, spans) } : undefined,
    buckets: parseBuckets(v, options.buckets),
    maxSeriesPerMetric: v.positiveInteger(
      'maxSeriesPerMetric',
      options.maxSeriesPerMetric,
      DEFAULT_MAX_SERIES_PER_METRIC,
    ),
  };
}
