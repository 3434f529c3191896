/**
 * Both adapters on real Redis (a private `redis-server` this file starts, so it can stop it):
 * store-call latency per feature and operation, store-call spans under each request's span,
 * and the circuit breaker opening, as gauges, when Redis stops answering.
 */
import { once } from 'node:events';
import { createCache } from '@keel/cache';
import { createEvents, createRedisClient } from '@keel/core';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import { createOtelMetrics } from '@keel/otel';
import { createPrometheusMetrics } from '@keel/prometheus';
import { createRedisStore } from '@keel/rate-limit';
import { context, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  histogramPoint,
  metricsHarness,
  pointSum,
  tracingHarness,
} from '../../packages/otel/test/support/sdk.js';
import { parseExposition, sampleSum } from '../../packages/prometheus/test/support/exposition.js';
import { closeClient, type RedisServer, startRedisServer, testPrefix } from '../support/index.js';
import { frameworks } from './apps.js';

const BREAKER = { failureThreshold: 2, openMs: 60_000 };

describe.each(frameworks)('%s on Redis: latency, spans, breaker', (_name, makeApp) => {
  let server: RedisServer;
  let client: Redis;
  const contextManager = new AsyncLocalStorageContextManager();

  beforeAll(async () => {
    server = await startRedisServer();
    client = createRedisClient({ url: server.url }) as Redis;
    await once(client, 'ready');
    context.setGlobalContextManager(contextManager.enable());
  });
  afterEach(() => {
    if (server.isRunning()) server.resume();
  });
  afterAll(async () => {
    context.disable();
    await closeClient(client);
    await server.stop();
  });

  function setup() {
    const registry = new Registry();
    const events = createEvents();
    createPrometheusMetrics({ registry, events });
    const sdk = metricsHarness();
    const tracing = tracingHarness();
    const tracer = tracing.provider.getTracer('http');
    trace.setGlobalTracerProvider(tracing.provider);
    createOtelMetrics({ events, meter: sdk.provider.getMeter('test'), spans: true });
    const httpSpans: Span[] = [];
    const prefix = testPrefix();
    const store = { client, prefix, events, deadlineMs: 200, breaker: BREAKER };
    const app = makeApp({
      events,
      registry,
      rateLimitStore: createRedisStore(store),
      idempotencyStore: createRedisIdempotencyStore(store),
      cache: createCache({ events }),
      limit: 1000,
      // What HTTP instrumentation does: the rest of the request runs under its span.
      around: (run) => {
        const span = tracer.startSpan('HTTP request');
        httpSpans.push(span);
        return context.with(trace.setSpan(ROOT_CONTEXT, span), run);
      },
    });
    const scrape = async () => parseExposition((await request(app).get('/metrics')).text);
    return { app, sdk, tracing, httpSpans, scrape };
  }

  it('records store-call latency and a span per store call under the request span', async () => {
    const { app, sdk, tracing, httpSpans, scrape } = setup();
    for (let i = 0; i < 3; i++) await request(app).get('/catalogue').expect(200);
    await request(app)
      .post('/orders')
      .set('idempotency-key', '"order-1"')
      .send({ items: [] })
      .expect(201);

    const text = await scrape();
    const check = { feature: 'rate-limit', operation: 'check', outcome: 'ok' };
    expect(sampleSum(text, 'keel_store_call_duration_seconds_count', check)).toBe(4);
    const sum = sampleSum(text, 'keel_store_call_duration_seconds_sum', check);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(0.8);
    const acquired = { feature: 'idempotency', operation: 'acquire', outcome: 'ok' };
    expect(sampleSum(text, 'keel_store_call_duration_seconds_count', acquired)).toBe(1);

    const otel = await sdk.collect();
    const point = histogramPoint(otel, 'keel.store.call.duration', {
      'db.system.name': 'redis',
      'keel.feature': 'rate-limit',
      'keel.operation': 'check',
      'keel.outcome': 'ok',
    });
    expect(point?.count).toBe(4);

    // Every store call is a child of its request's span (the /metrics scrape made none).
    const finished = await tracing.finished();
    const storeSpans = finished.filter((s) => s.name !== 'HTTP request');
    expect(storeSpans.map((s) => s.name).sort()).toEqual([
      'idempotency acquire',
      'idempotency complete',
      'rate-limit check',
      'rate-limit check',
      'rate-limit check',
      'rate-limit check',
    ]);
    const parents = new Set(httpSpans.map((s) => s.spanContext().spanId));
    for (const span of storeSpans) expect(parents.has(span.parentSpanContext!.spanId)).toBe(true);
    const postSpan = httpSpans[3]!.spanContext().spanId;
    expect(storeSpans.filter((s) => s.parentSpanContext?.spanId === postSpan)).toHaveLength(3);
    await Promise.all([sdk.shutdown(), tracing.shutdown()]);
    trace.disable();
  });

  it('shows the breaker open once Redis stops answering, while the fallback keeps serving', async () => {
    const { app, sdk, tracing, scrape } = setup();
    await request(app).get('/catalogue').expect(200);
    expect(
      sampleSum(await scrape(), 'keel_store_circuit_state', {
        feature: 'rate-limit',
        state: 'closed',
      }),
    ).toBe(1);

    server.pause();
    for (let i = 0; i < 4; i++) await request(app).get('/catalogue').expect(200);

    const text = await scrape();
    const state = (s: string) =>
      sampleSum(text, 'keel_store_circuit_state', { feature: 'rate-limit', state: s });
    expect([state('closed'), state('half-open'), state('open')]).toEqual([0, 0, 1]);
    expect(
      sampleSum(text, 'keel_store_call_duration_seconds_count', {
        feature: 'rate-limit',
        outcome: 'timeout',
      }),
    ).toBe(2);
    expect(
      sampleSum(text, 'keel_rate_limit_store_failures_total', { failure_policy: 'fallback' }),
    ).toBe(4);
    expect(
      sampleSum(text, 'keel_rate_limit_decisions_total', {
        outcome: 'allowed',
        source: 'fallback',
      }),
    ).toBe(4);
    const otel = await sdk.collect();
    expect(
      pointSum(otel, 'keel.store.circuit.state', {
        'keel.feature': 'rate-limit',
        'keel.circuit.state': 'open',
      }),
    ).toBe(1);
    await Promise.all([sdk.shutdown(), tracing.shutdown()]);
    trace.disable();
  });
});
