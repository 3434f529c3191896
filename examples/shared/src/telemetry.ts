/**
 * The examples' observability: one `KeelEvents` every Keel feature of the app reports to,
 * recorded by @keel/prometheus on the app's own registry (served at `/metrics`, read by the
 * operator page) and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, also by @keel/otel on an
 * OpenTelemetry MeterProvider that exports OTLP (HTTP/JSON) to that endpoint.
 */
import type { KeelEvents } from '@keel/core';
import { createOtelMetrics } from '@keel/otel';
import { createPrometheusMetrics } from '@keel/prometheus';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';

export interface ExampleTelemetry {
  /** Pass as the `events` option of every Keel feature and Redis store. */
  events: KeelEvents;
  /** The app's prom-client registry, Keel's metrics on it. */
  registry: Registry;
  /** Where OTLP goes (`…/v1/metrics`), when it is on. */
  otlpUrl: string | undefined;
  /** Export what is pending and stop (OTLP); the registry stays readable. */
  shutdown(): Promise<void>;
}

/** The environment variables read: the OpenTelemetry SDK's standard names. */
export interface TelemetryEnv {
  /** Base URL of an OTLP/HTTP receiver, e.g. `http://localhost:4318` (a collector). */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  /** Export interval, ms. @default 60000 */
  OTEL_METRIC_EXPORT_INTERVAL?: string | undefined;
}

/** The OTLP metrics URL for a base endpoint, as the OpenTelemetry spec builds it. */
function otlpMetricsUrl(endpoint: string): string {
  return new URL('v1/metrics', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString();
}

export function createExampleTelemetry(env: TelemetryEnv = process.env): ExampleTelemetry {
  const registry = new Registry();
  const prometheus = createPrometheusMetrics({ registry });
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
  if (!endpoint) {
    return { events: prometheus.events, registry, otlpUrl: undefined, shutdown: async () => {} };
  }
  const otlpUrl = otlpMetricsUrl(endpoint);
  const intervalMs = Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? 60_000);
  const provider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: otlpUrl }),
        exportIntervalMillis: intervalMs,
        exportTimeoutMillis: Math.min(intervalMs, 30_000),
      }),
    ],
  });
  // The same events, recorded a second time as OpenTelemetry instruments.
  const otel = createOtelMetrics({ events: prometheus.events, meter: provider.getMeter('keel') });
  return {
    events: prometheus.events,
    registry,
    otlpUrl,
    async shutdown() {
      otel.close();
      await provider.shutdown();
    },
  };
}
