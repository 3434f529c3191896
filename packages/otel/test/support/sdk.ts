/**
 * The real OpenTelemetry SDK for tests: a MeterProvider whose PeriodicExportingMetricReader
 * exports to an InMemoryMetricExporter on demand, and a TracerProvider with an
 * InMemorySpanExporter. No globals are touched unless a test registers them itself.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

export interface MetricsHarness {
  provider: MeterProvider;
  /** Export now and return the metrics of the latest export. */
  collect(): Promise<MetricData[]>;
  shutdown(): Promise<void>;
}

export function metricsHarness(): MetricsHarness {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when asked (forceFlush): an hour-long interval never fires in a test.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async collect() {
      await reader.forceFlush();
      const latest = exporter.getMetrics().at(-1);
      return latest?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [];
    },
    shutdown: () => provider.shutdown(),
  };
}

export function tracingHarness() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return {
    provider,
    exporter,
    /** The spans ended so far (the processor exports asynchronously: flushed first). */
    async finished() {
      await provider.forceFlush();
      return exporter.getFinishedSpans();
    },
    shutdown: () => provider.shutdown(),
  };
}

/** The data points of the metric named `name`. */
export function pointsOf(metrics: MetricData[], name: string): DataPoint<unknown>[] {
  const metric = metrics.find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as DataPoint<unknown>[];
}

/** The sum of the values of `name`'s points whose attributes include `attributes`. */
export function pointSum(metrics: MetricData[], name: string, attributes: Attributes = {}): number {
  let total = 0;
  for (const point of pointsOf(metrics, name)) {
    if (Object.entries(attributes).every(([k, v]) => point.attributes[k] === v)) {
      total += point.value as number;
    }
  }
  return total;
}

/** The histogram point of `name` whose attributes include `attributes`. */
export function histogramPoint(
  metrics: MetricData[],
  name: string,
  attributes: Attributes,
): Histogram | undefined {
  const point = pointsOf(metrics, name).find((p) =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  );
  return point?.value as Histogram | undefined;
}
