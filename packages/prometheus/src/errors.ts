/**
 * @keel/prometheus's configuration errors. Both are thrown by `createPrometheusMetrics()` at
 * start-up, never while recording, and say what to change. Codes are stable and never reused;
 * the registry is {@link codes}.
 */
import { KeelError } from '@keel/core';

/** The registry of @keel/prometheus's error codes. Frozen: codes are part of the public API. */
export const codes = Object.freeze({
  METRIC_CONFLICT: 'KEEL_ERR_PROMETHEUS_METRIC_CONFLICT',
  PEER_MISSING: 'KEEL_ERR_PROMETHEUS_PEER_MISSING',
} as const);

export type PrometheusErrorCode = (typeof codes)[keyof typeof codes];

/**
 * The registry already has metrics under the names Keel would register: a second
 * `createPrometheusMetrics()` on the same registry, or an application metric of the same name.
 */
export class PrometheusMetricConflictError extends KeelError {
  /** The metric names already registered. */
  readonly names: readonly string[];

  constructor(names: readonly string[], prefix: string) {
    super(
      codes.METRIC_CONFLICT,
      `The prom-client registry already has ${names.length === 1 ? 'a metric' : 'metrics'} named ${names.map((n) => `"${n}"`).join(', ')}. ` +
        "Create Keel's metrics once per registry and pass that object's `events` (or `attach()` more event sources) to every feature; " +
        `call close() on the old one first to replace it; or give this one another \`prefix\` (now "${prefix}").`,
      { status: 500, title: 'Metric name already registered' },
    );
    this.names = names;
  }
}

/** prom-client, a peer dependency, is not installed where @keel/prometheus can load it. */
export class PrometheusPeerMissingError extends KeelError {
  constructor(cause?: unknown) {
    super(
      codes.PEER_MISSING,
      'prom-client is not installed: run `npm install prom-client` (version 15) in the application that uses @keel/prometheus, and pass its Registry as `registry`.',
      { status: 500, title: 'Metrics library missing', cause },
    );
  }
}
