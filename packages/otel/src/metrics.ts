/**
 * Keel's metrics through @opentelemetry/api: a listener over Keel's events that turns each
 * into counter additions and histogram records (see `@keel/telemetry` for the table), an
 * observable gauge of the circuit breakers, and optional store-call spans.
 */
import type { KeelEvents } from '@keel/core';
import {
  CIRCUIT_STATES,
  CircuitStates,
  type CounterName,
  createMeasurer,
  LABELS,
  METRICS,
  type MeasurementSink,
  type MetricName,
  type MetricSpec,
  SeriesCache,
  Subscriptions,
} from '@keel/telemetry';
import type { Attributes, Counter, Histogram, Meter, ObservableCallback } from '@opentelemetry/api';
import { type OtelConfig, type OtelMetricsOptions, parseOtelOptions } from './options.js';
import { createSpanRecorder } from './spans.js';

export interface OtelMetrics {
  /** The events being recorded: pass them as the `events` option of every Keel feature. */
  readonly events: KeelEvents;
  /** Record another event source too; returns the function that stops it. */
  attach(events: KeelEvents): () => void;
  /** Stop recording and unregister the breaker gauge's callback. */
  close(): void;
}

/** Attributes by OpenTelemetry name: the metric's constant ones, then non-empty label values. */
function attributesOf(spec: MetricSpec, values: readonly string[]): Attributes {
  const attributes: Attributes = { ...spec.constantAttributes };
  spec.labels.forEach((label, i) => {
    const value = values[i];
    if (value) attributes[LABELS[label].otel] = value;
  });
  return Object.freeze(attributes);
}

/** Counters and the histogram, each with its cache of attribute sets. */
class OtelSink implements MeasurementSink {
  readonly #counters = new Map<CounterName, SeriesCache<(by: number) => void>>();
  readonly #storeCalls: SeriesCache<(seconds: number) => void>;

  constructor(meter: Meter, config: OtelConfig) {
    for (const [name, spec] of Object.entries(METRICS) as [MetricName, MetricSpec][]) {
      if (spec.kind !== 'counter') continue;
      const counter: Counter = meter.createCounter(spec.otel.name, {
        description: spec.description,
        unit: spec.otel.unit,
      });
      this.#counters.set(
        name as CounterName,
        new SeriesCache((values) => {
          const attributes = attributesOf(spec, values);
          return (by) => counter.add(by, attributes);
        }, config.maxSeriesPerMetric),
      );
    }
    const spec = METRICS.storeCallDuration;
    const histogram: Histogram = meter.createHistogram(spec.otel.name, {
      description: spec.description,
      unit: spec.otel.unit,
      advice: { explicitBucketBoundaries: [...config.buckets] },
    });
    this.#storeCalls = new SeriesCache((values) => {
      const attributes = attributesOf(spec, values);
      return (seconds) => histogram.record(seconds, attributes);
    }, config.maxSeriesPerMetric);
  }

  count(metric: CounterName, values: readonly string[], by: number): void {
    this.#counters.get(metric)?.get(values)(by);
  }

  storeCall(values: readonly string[], seconds: number): void {
    this.#storeCalls.get(values)(seconds);
  }
}

/** The breaker gauge: one-hot over the states, for every feature seen so far. */
function observeCircuits(meter: Meter, circuits: CircuitStates): () => void {
  const spec = METRICS.storeCircuitState;
  const gauge = meter.createObservableGauge(spec.otel.name, {
    description: spec.description,
    unit: spec.otel.unit,
  });
  const callback: ObservableCallback = (result) => {
    for (const [feature, current] of circuits.entries()) {
      for (const state of CIRCUIT_STATES) {
        result.observe(state === current ? 1 : 0, attributesOf(spec, [feature, state]));
      }
    }
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}

/**
 * Create Keel's instruments on `options.meter` (or the global MeterProvider's) and record the
 * events of `options.events`.
 *
 * ```ts
 * const telemetry = createOtelMetrics({ spans: true });
 * app.use(rateLimit({ name: 'api', store, events: telemetry.events }));
 * ```
 *
 * @throws KeelOptionError for a bad option, OtelPeerMissingError when @opentelemetry/api is
 * needed (no `meter`, or spans on) and not installed.
 */
export function createOtelMetrics(options?: OtelMetricsOptions): OtelMetrics {
  const config = parseOtelOptions(options);
  const circuits = new CircuitStates();
  const measurer = createMeasurer(new OtelSink(config.meter, config), circuits);
  const stopObserving = observeCircuits(config.meter, circuits);
  const spans = config.tracing && createSpanRecorder(config.tracing);
  const listener: typeof measurer.listener = spans
    ? (event) => {
        measurer.listener(event);
        if (event.name === 'store.call') spans(event);
      }
    : measurer.listener;

  const subscriptions = new Subscriptions(listener);
  subscriptions.attach(config.events);
  return {
    events: config.events,
    attach: (events) => subscriptions.attach(events),
    close() {
      subscriptions.detachAll();
      stopObserving();
    },
  };
}
