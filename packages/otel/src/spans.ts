/**
 * Optional spans around Redis store calls. The `store.call` event arrives when the call has
 * finished, carrying its latency, so each span is recorded after the fact with explicit start
 * and end times, as a child of the span active at that moment: the call's continuation runs in
 * the request's async context, so with HTTP instrumentation that is the request's span.
 */
import type { KeelEventOf } from '@keel/core';
import { errorTypeOf, LABELS } from '@keel/telemetry';
import type { Tracer } from '@opentelemetry/api';
import type { OtelApi } from './peer.js';

export type SpanRecorder = (event: KeelEventOf<'store.call'>) => void;

export function createSpanRecorder({
  tracer,
  api,
}: {
  tracer: () => Tracer;
  api: OtelApi;
}): SpanRecorder {
  return (event) => {
    const { feature, operation, outcome } = event.attributes;
    const endTime = event.time;
    const span = tracer().startSpan(
      `${feature} ${operation}`,
      {
        kind: api.SpanKind.CLIENT,
        startTime: endTime - (event.durationMs ?? 0),
        attributes: {
          'db.system.name': 'redis',
          [LABELS.feature.otel]: feature,
          [LABELS.operation.otel]: operation,
          [LABELS.outcome.otel]: outcome,
        },
      },
      api.context.active(),
    );
    if (outcome !== 'ok') {
      const errorType = errorTypeOf(event.error);
      span.setAttribute(LABELS.errorType.otel, errorType);
      // The code, not the message: a message may name a key or an address.
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: errorType });
    }
    span.end(endTime);
  };
}
