import { StoreUnavailableError } from '@keel/core';
import { createOtelMetrics } from '@keel/otel';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metricsHarness, tracingHarness } from '../support/sdk.js';

describe('store-call spans', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  beforeEach(() => {
    context.setGlobalContextManager(contextManager.enable());
  });
  afterEach(() => {
    context.disable();
  });

  it('records each store call as a CLIENT span under the active span, timed by the event', async () => {
    const metricsSdk = metricsHarness();
    const tracing = tracingHarness();
    const telemetry = createOtelMetrics({
      meter: metricsSdk.provider.getMeter('test'),
      spans: tracing.provider.getTracer('test'),
    });
    const parent = tracing.provider.getTracer('http').startSpan('GET /orders');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await Promise.resolve();
      telemetry.events.emit(
        'store.call',
        { feature: 'rate-limit', operation: 'check', outcome: 'ok' },
        { durationMs: 2 },
      );
      telemetry.events.emit(
        'store.call',
        { feature: 'cache', operation: 'read', outcome: 'error' },
        {
          durationMs: 1,
          error: new StoreUnavailableError('read', 'connect ECONNREFUSED 10.0.0.7:6379'),
        },
      );
    });
    parent.end();
    const [check, read] = (await tracing.finished()).filter((s) => s.name !== 'GET /orders');
    expect(check?.name).toBe('rate-limit check');
    expect(check?.kind).toBe(SpanKind.CLIENT);
    expect(check?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(check?.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(check?.attributes).toEqual({
      'db.system.name': 'redis',
      'keel.feature': 'rate-limit',
      'keel.operation': 'check',
      'keel.outcome': 'ok',
    });
    const [seconds, nanos] = check!.duration;
    expect(seconds * 1000 + nanos / 1e6).toBeCloseTo(2, 1);
    expect(read?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'KEEL_ERR_STORE_UNAVAILABLE',
    });
    expect(read?.attributes['error.type']).toBe('KEEL_ERR_STORE_UNAVAILABLE');
    // The error's message (an address here) is in no attribute.
    expect(JSON.stringify(read?.attributes)).not.toContain('10.0.0.7');
    await Promise.all([metricsSdk.shutdown(), tracing.shutdown()]);
  });

  it('records no spans unless asked', async () => {
    const metricsSdk = metricsHarness();
    const tracing = tracingHarness();
    trace.setGlobalTracerProvider(tracing.provider);
    const telemetry = createOtelMetrics({ meter: metricsSdk.provider.getMeter('test') });
    telemetry.events.emit(
      'store.call',
      { feature: 'lock', operation: 'lock.acquire', outcome: 'ok' },
      { durationMs: 1 },
    );
    expect(await tracing.finished()).toEqual([]);
    // `spans: true` takes the global TracerProvider's tracer.
    const traced = createOtelMetrics({ meter: metricsSdk.provider.getMeter('test'), spans: true });
    traced.events.emit(
      'store.call',
      { feature: 'lock', operation: 'lock.acquire', outcome: 'ok' },
      { durationMs: 1 },
    );
    expect((await tracing.finished()).map((s) => s.name)).toEqual(['lock lock.acquire']);
    expect((await tracing.finished())[0]?.instrumentationScope.name).toBe('@keel/otel');
    trace.disable();
    await Promise.all([metricsSdk.shutdown(), tracing.shutdown()]);
  });
});
