// Keel's metrics on a prom-client registry.
export type { PrometheusMetrics } from './metrics.js';
export { createPrometheusMetrics } from './metrics.js';
export type { PrometheusMetricsOptions } from './options.js';

// The scrape endpoint for Express / node:http and Koa.
export type { KoaMetricsContext, MetricsHandler } from './endpoint.js';
export { koaMetricsHandler, metricsHandler } from './endpoint.js';

// Errors: stable codes.
export type { PrometheusErrorCode } from './errors.js';
export { codes, PrometheusMetricConflictError, PrometheusPeerMissingError } from './errors.js';

// The catalogue the metrics come from (names, labels, buckets).
export { METRICS, STORE_CALL_BUCKETS_SECONDS } from '@keel/telemetry';
