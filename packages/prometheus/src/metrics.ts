/**
 * Keel's metrics on a prom-client registry: a listener over Keel's events that turns each
 * into counter increments and histogram observations (see `@keel/telemetry` for the table),
 * plus an observable circuit-breaker gauge read at scrape time.
 */
import type { KeelEvents } from '@keel/core';
import {
  CIRCUIT_STATES,
  CircuitStates,
  type CounterName,
  createMeasurer,
  LABELS,
  type LabelName,
  METRICS,
  type MeasurementSink,
  type MetricName,
  type MetricSpec,
  SeriesCache,
  Subscriptions,
} from '@keel/telemetry';
import type { Counter, Histogram, Registry } from 'prom-client';
import { PrometheusMetricConflictError } from './errors.js';
import {
  type PrometheusConfig,
  type PrometheusMetricsOptions,
  parsePrometheusOptions,
} from './options.js';
import { loadPromClient, type PromClient } from './peer.js';

export interface PrometheusMetrics {
  /** The events being recorded: pass them as the `events` option of every Keel feature. */
  readonly events: KeelEvents;
  readonly registry: Registry;
  /** The registered metric names, prefix included. */
  readonly names: readonly string[];
  /** Record another event source too; returns the function that stops it. */
  attach(events: KeelEvents): () => void;
  /** Stop recording and remove Keel's metrics from the registry (a new set may then be made). */
  close(): void;
}

type Labels = Record<string, string>;

/** The Prometheus label names of a metric, in catalogue order. */
function labelNames(spec: MetricSpec): string[] {
  return spec.labels.map((label: LabelName) => LABELS[label].prometheus);
}

/** Label values by Prometheus name; empty values are left out (Prometheus treats them as absent). */
function labelsOf(spec: MetricSpec, values: readonly string[]): Labels {
  const labels: Labels = {};
  spec.labels.forEach((label, i) => {
    const value = values[i];
    if (value) labels[LABELS[label].prometheus] = value;
  });
  return Object.freeze(labels);
}

/** Counters and the histogram, each with its cache of bound series. */
class PrometheusSink implements MeasurementSink {
  readonly #counters = new Map<CounterName, SeriesCache<(by: number) => void>>();
  readonly #storeCalls: SeriesCache<(seconds: number) => void>;

  constructor(
    counters: ReadonlyMap<CounterName, Counter>,
    histogram: Histogram,
    maxSeries: number,
  ) {
    for (const [name, counter] of counters) {
      const spec = METRICS[name];
      this.#counters.set(
        name,
        new SeriesCache((values) => {
          const labels = labelsOf(spec, values);
          return (by) => counter.inc(labels, by);
        }, maxSeries),
      );
    }
    this.#storeCalls = new SeriesCache((values) => {
      const labels = labelsOf(METRICS.storeCallDuration, values);
      return (seconds) => histogram.observe(labels, seconds);
    }, maxSeries);
  }

  count(metric: CounterName, values: readonly string[], by: number): void {
    this.#counters.get(metric)?.get(values)(by);
  }

  storeCall(values: readonly string[], seconds: number): void {
    this.#storeCalls.get(values)(seconds);
  }
}

function assertFree(config: PrometheusConfig): string[] {
  const names = Object.values(METRICS).map((spec: MetricSpec) => config.prefix + spec.prometheus);
  const taken = names.filter((name) => config.registry.getSingleMetric(name) !== undefined);
  if (taken.length > 0) throw new PrometheusMetricConflictError(taken, config.prefix);
  return names;
}

function register(client: PromClient, config: PrometheusConfig, circuits: CircuitStates) {
  const { registry, prefix } = config;
  const registers = [registry];
  const counters = new Map<CounterName, Counter>();
  for (const [name, spec] of Object.entries(METRICS) as [MetricName, MetricSpec][]) {
    if (spec.kind !== 'counter') continue;
    const common = { name: prefix + spec.prometheus, help: spec.description, registers };
    counters.set(
      name as CounterName,
      new client.Counter({ ...common, labelNames: labelNames(spec) }),
    );
  }
  const histogram = new client.Histogram({
    name: prefix + METRICS.storeCallDuration.prometheus,
    help: METRICS.storeCallDuration.description,
    labelNames: labelNames(METRICS.storeCallDuration),
    buckets: [...config.buckets],
    registers,
  });
  const circuitSpec = METRICS.storeCircuitState;
  const gauge: import('prom-client').Gauge = new client.Gauge({
    name: prefix + circuitSpec.prometheus,
    help: circuitSpec.description,
    labelNames: labelNames(circuitSpec),
    registers,
    // Read at scrape time: one-hot over the states, for every feature seen so far.
    collect() {
      for (const [feature, current] of circuits.entries()) {
        for (const state of CIRCUIT_STATES)
          gauge.set({ feature, state }, state === current ? 1 : 0);
      }
    },
  });
  return { counters, histogram };
}

/**
 * Register Keel's metrics on `options.registry` and record the events of `options.events`.
 *
 * ```ts
 * const metrics = createPrometheusMetrics({ registry });
 * app.use(rateLimit({ name: 'api', store, events: metrics.events }));
 * app.get('/metrics', metricsHandler(registry));
 * ```
 *
 * @throws KeelOptionError for a bad option, PrometheusPeerMissingError when prom-client is not
 * installed, PrometheusMetricConflictError when the registry already has one of the names.
 */
export function createPrometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
  const config = parsePrometheusOptions(options);
  const client = loadPromClient();
  const names = assertFree(config);
  const circuits = new CircuitStates();
  const { counters, histogram } = register(client, config, circuits);
  const sink = new PrometheusSink(counters, histogram, config.maxSeriesPerMetric);
  const measurer = createMeasurer(sink, circuits);

  const subscriptions = new Subscriptions(measurer.listener);
  subscriptions.attach(config.events);
  return {
    events: config.events,
    registry: config.registry,
    names,
    attach: (events) => subscriptions.attach(events),
    close() {
      subscriptions.detachAll();
      for (const name of names) config.registry.removeSingleMetric(name);
    },
  };
}
