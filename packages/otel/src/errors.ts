/**
 * @keel/otel's configuration errors, thrown by `createOtelMetrics()` at start-up and saying
 * what to change. Codes are stable and never reused; the registry is {@link codes}.
 */
import { KeelError } from '@keel/core';

/** The registry of @keel/otel's error codes. Frozen: codes are part of the public API. */
export const codes = Object.freeze({
  PEER_MISSING: 'KEEL_ERR_OTEL_PEER_MISSING',
} as const);

export type OtelErrorCode = (typeof codes)[keyof typeof codes];

/**
 * @opentelemetry/api, a peer dependency, is not installed where @keel/otel can load it, and
 * the options needed it (no `meter` given, or `spans` on).
 */
export class OtelPeerMissingError extends KeelError {
  constructor(cause?: unknown) {
    super(
      codes.PEER_MISSING,
      '@opentelemetry/api is not installed: run `npm install @opentelemetry/api` (version 1.9 or later) in the application that uses @keel/otel, next to the OpenTelemetry SDK that exports the metrics.',
      { status: 500, title: 'OpenTelemetry API missing', cause },
    );
  }
}
