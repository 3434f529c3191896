import { KeelOptionError, StoreTimeoutError } from '@keel/core';
import { rateLimit } from '@keel/express';
import { createOtelMetrics, METRICS } from '@keel/otel';
import { createMemoryStore } from '@keel/rate-limit';
import { metrics as otelMetrics } from '@opentelemetry/api';
import express from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { histogramPoint, metricsHarness, pointSum, pointsOf } from '../support/sdk.js';

const harnesses: { shutdown(): Promise<void> }[] = [];
function harness() {
  const created = metricsHarness();
  harnesses.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.shutdown()));
  otelMetrics.disable();
});

describe('createOtelMetrics', () => {
  it('counts real rate-limit decisions of an Express app, with keel.* attributes', async () => {
    const sdk = harness();
    const telemetry = createOtelMetrics({ meter: sdk.provider.getMeter('test') });
    const app = express();
    app.use(
      rateLimit({
        name: 'api',
        store: createMemoryStore(),
        limit: 2,
        windowMs: 60_000,
        events: telemetry.events,
      }),
    );
    app.get('/', (_req, res) => {
      res.json({ ok: true });
    });
    for (let i = 0; i < 3; i++) await request(app).get('/');
    const collected = await sdk.collect();
    const name = METRICS.rateLimitDecisions.otel.name;
    expect(
      pointSum(collected, name, {
        'keel.rate_limit.limiter': 'api',
        'keel.outcome': 'allowed',
        'keel.rate_limit.source': 'store',
      }),
    ).toBe(2);
    expect(pointSum(collected, name, { 'keel.outcome': 'limited' })).toBe(1);
    // No attribute carries the client's address (the limiter's key).
    for (const metric of collected) {
      for (const point of metric.dataPoints) {
        expect(Object.values(point.attributes).join(' ')).not.toMatch(/127\.0\.0\.1|::1|::ffff/);
      }
    }
    const descriptor = collected.find((m) => m.descriptor.name === name)?.descriptor;
    expect(descriptor?.unit).toBe('{decision}');
    expect(descriptor?.description).toBe(METRICS.rateLimitDecisions.description);
  });

  it('records store-call latency in seconds on the advised buckets, with db.system.name and error.type', async () => {
    const sdk = harness();
    const telemetry = createOtelMetrics({ meter: sdk.provider.getMeter('test') });
    const call = { feature: 'idempotency', operation: 'acquire' } as const;
    telemetry.events.emit('store.call', { ...call, outcome: 'ok' }, { durationMs: 0.3 });
    telemetry.events.emit(
      'store.call',
      { ...call, outcome: 'timeout' },
      { durationMs: 51, error: new StoreTimeoutError('acquire', 50) },
    );
    const collected = await sdk.collect();
    const name = 'keel.store.call.duration';
    const ok = histogramPoint(collected, name, {
      'db.system.name': 'redis',
      'keel.feature': 'idempotency',
      'keel.operation': 'acquire',
      'keel.outcome': 'ok',
    });
    expect(ok?.buckets.boundaries).toEqual([...METRICS_BUCKETS]);
    expect(ok?.count).toBe(1);
    expect(ok?.sum).toBeCloseTo(0.0003);
    const timedOut = pointsOf(collected, name).find(
      (p) => p.attributes['keel.outcome'] === 'timeout',
    );
    expect(timedOut?.attributes['error.type']).toBe('KEEL_ERR_STORE_TIMEOUT');
    expect(collected.find((m) => m.descriptor.name === name)?.descriptor.unit).toBe('s');
  });

  it('observes the breaker state per feature as a one-hot gauge', async () => {
    const sdk = harness();
    const telemetry = createOtelMetrics({ meter: sdk.provider.getMeter('test') });
    telemetry.events.emit(
      'store.call',
      { feature: 'session', operation: 'read', outcome: 'ok' },
      { durationMs: 1 },
    );
    telemetry.events.emit('store.circuit', { feature: 'lock', state: 'half-open' });
    const collected = await sdk.collect();
    const state = (feature: string, value: string) =>
      pointSum(collected, 'keel.store.circuit.state', {
        'keel.feature': feature,
        'keel.circuit.state': value,
      });
    expect([state('session', 'closed'), state('session', 'open')]).toEqual([1, 0]);
    expect([state('lock', 'closed'), state('lock', 'half-open'), state('lock', 'open')]).toEqual([
      0, 1, 0,
    ]);
    telemetry.close();
    // Closed: events are no longer recorded, and the gauge no longer follows them.
    telemetry.events.emit('store.circuit', { feature: 'lock', state: 'open' });
    const after = await sdk.collect();
    expect(pointSum(after, 'keel.store.circuit.transitions', { 'keel.feature': 'lock' })).toBe(1);
    expect(
      pointSum(after, 'keel.store.circuit.state', {
        'keel.feature': 'lock',
        'keel.circuit.state': 'open',
      }),
    ).toBe(0);
  });

  it('uses the global MeterProvider when no meter is given', async () => {
    const sdk = harness();
    otelMetrics.setGlobalMeterProvider(sdk.provider);
    const telemetry = createOtelMetrics();
    telemetry.events.emit('lock.lost', { resource: 'orders:42', fencingToken: 3, reason: 'taken' });
    const collected = await sdk.collect();
    expect(
      pointSum(collected, 'keel.lock.outcomes', { 'keel.outcome': 'lost', 'keel.reason': 'taken' }),
    ).toBe(1);
    expect(JSON.stringify(collected)).not.toContain('orders:42');
  });

  it('rejects bad options with a coded error', () => {
    const attempts: [unknown, RegExp][] = [
      [{ meter: {} }, /option "meter" must be an OpenTelemetry Meter/],
      [{ spans: 'yes' }, /option "spans" must be true, false or an OpenTelemetry Tracer/],
      [{ buckets: [] }, /option "buckets" must be a non-empty array/],
      [{ maxSeriesPerMetric: 0 }, /option "maxSeriesPerMetric" must be an integer >= 1/],
      [{ spanz: true }, /unknown option "spanz" \(did you mean "spans"\?\)/],
    ];
    for (const [options, message] of attempts) {
      const attempt = () => createOtelMetrics(options as never);
      expect(attempt).toThrow(KeelOptionError);
      expect(attempt).toThrow(message);
    }
  });
});

const METRICS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
