// Keel's metrics (and optional store-call spans) through @opentelemetry/api.
export type { OtelMetrics } from './metrics.js';
export { createOtelMetrics } from './metrics.js';
export type { OtelMetricsOptions } from './options.js';
export { SCOPE_NAME, VERSION } from './version.js';

// Errors: stable codes.
export type { OtelErrorCode } from './errors.js';
export { codes, OtelPeerMissingError } from './errors.js';

// The catalogue the instruments come from (names, attributes, buckets).
export { LABELS, METRICS, STORE_CALL_BUCKETS_SECONDS } from '@keel/telemetry';
