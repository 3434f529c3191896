import { createEvents, isKeelError, KeelOptionError } from '@keel/core';
import { rateLimit } from '@keel/express';
import {
  codes,
  createPrometheusMetrics,
  METRICS,
  PrometheusMetricConflictError,
} from '@keel/prometheus';
import { createMemoryStore } from '@keel/rate-limit';
import express from 'express';
import { Counter, Registry } from 'prom-client';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { parseExposition, sampleSum, samplesOf } from '../support/exposition.js';

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

describe('createPrometheusMetrics', () => {
  it('registers every catalogue metric with its type and help', async () => {
    const registry = new Registry();
    const metrics = createPrometheusMetrics({ registry });
    metrics.events.emit(
      'store.call',
      { feature: 'cache', operation: 'read', outcome: 'ok' },
      { durationMs: 1 },
    );
    const { types, help } = await scrape(registry);
    for (const spec of Object.values(METRICS)) {
      const family = `keel_${spec.prometheus}`;
      expect(types.get(family), family).toBe(spec.kind);
      expect(help.get(family), family).toBe(spec.description);
    }
    expect(metrics.names).toHaveLength(Object.keys(METRICS).length);
  });

  it('counts real rate-limit decisions of an Express app, labelled by limiter, outcome and source', async () => {
    const registry = new Registry();
    const metrics = createPrometheusMetrics({ registry });
    const app = express();
    app.use(
      rateLimit({
        name: 'api',
        store: createMemoryStore(),
        limit: 3,
        windowMs: 60_000,
        events: metrics.events,
      }),
    );
    app.get('/', (_req, res) => {
      res.json({ ok: true });
    });
    for (let i = 0; i < 5; i++) await request(app).get('/');
    const result = await scrape(registry);
    const name = 'keel_rate_limit_decisions_total';
    expect(sampleSum(result, name, { limiter: 'api', outcome: 'allowed', source: 'store' })).toBe(
      3,
    );
    expect(sampleSum(result, name, { limiter: 'api', outcome: 'limited' })).toBe(2);
    expect(
      sampleSum(result, 'keel_rate_limit_violations_total', { limiter: 'api', policy: 'api' }),
    ).toBe(2);
    // No sample carries the client's address (the limiter's key).
    for (const sample of result.samples) {
      expect(Object.values(sample.labels).join(' ')).not.toMatch(/127\.0\.0\.1|::1|::ffff/);
    }
  });

  it('buckets store-call latency in seconds from 100 µs, with error_type on failures', async () => {
    const registry = new Registry();
    const metrics = createPrometheusMetrics({ registry });
    metrics.events.emit(
      'store.call',
      { feature: 'rate-limit', operation: 'check', outcome: 'ok' },
      { durationMs: 0.2 },
    );
    metrics.events.emit(
      'store.call',
      { feature: 'rate-limit', operation: 'check', outcome: 'timeout' },
      { durationMs: 60, error: Object.assign(new Error('late'), { name: 'AbortError' }) },
    );
    const result = await scrape(registry);
    const buckets = samplesOf(result, 'keel_store_call_duration_seconds_bucket').filter(
      (s) => s.labels.outcome === 'ok',
    );
    expect(buckets.map((b) => b.labels.le)).toEqual([
      '0.0001',
      '0.00025',
      '0.0005',
      '0.00075',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '+Inf',
    ]);
    expect(buckets.find((b) => b.labels.le === '0.0001')?.value).toBe(0);
    expect(buckets.find((b) => b.labels.le === '0.00025')?.value).toBe(1);
    const failed = { feature: 'rate-limit', operation: 'check', outcome: 'timeout' };
    expect(sampleSum(result, 'keel_store_call_duration_seconds_count', failed)).toBe(1);
    expect(
      samplesOf(result, 'keel_store_call_duration_seconds_count').find(
        (s) => s.labels.outcome === 'timeout',
      )?.labels.error_type,
    ).toBe('AbortError');
    expect(sampleSum(result, 'keel_store_call_duration_seconds_sum', failed)).toBeCloseTo(0.06);
  });

  it('shows the breaker state as a one-hot gauge read at scrape time', async () => {
    const registry = new Registry();
    const metrics = createPrometheusMetrics({ registry });
    metrics.events.emit(
      'store.call',
      { feature: 'session', operation: 'read', outcome: 'ok' },
      { durationMs: 1 },
    );
    metrics.events.emit('store.circuit', { feature: 'cache', state: 'open' });
    const result = await scrape(registry);
    const state = (feature: string, s: string) =>
      sampleSum(result, 'keel_store_circuit_state', { feature, state: s });
    expect([
      state('session', 'closed'),
      state('session', 'half-open'),
      state('session', 'open'),
    ]).toEqual([1, 0, 0]);
    expect([state('cache', 'closed'), state('cache', 'half-open'), state('cache', 'open')]).toEqual(
      [0, 0, 1],
    );
    expect(
      sampleSum(result, 'keel_store_circuit_transitions_total', {
        feature: 'cache',
        state: 'open',
      }),
    ).toBe(1);
  });

  it('records several event sources with attach(), and stops on close()', async () => {
    const registry = new Registry();
    const metrics = createPrometheusMetrics({ registry });
    const other = createEvents();
    const detach = metrics.attach(other);
    other.emit('cache.invalidate', { tags: 1, keys: 0 });
    detach();
    other.emit('cache.invalidate', { tags: 1, keys: 0 });
    expect(sampleSum(await scrape(registry), 'keel_cache_invalidations_total')).toBe(1);
    metrics.close();
    expect(registry.getSingleMetric('keel_cache_invalidations_total')).toBeUndefined();
    metrics.events.emit('cache.invalidate', { tags: 1, keys: 0 });
    // A new set can be registered once the old one is closed.
    expect(() => createPrometheusMetrics({ registry })).not.toThrow();
  });

  it('keeps at most maxSeriesPerMetric label sets, then counts on an _overflow series', async () => {
    const registry = new Registry();
    const metrics = createPrometheusMetrics({ registry, maxSeriesPerMetric: 2 });
    for (const limiter of ['a', 'b', 'c', 'd']) {
      metrics.events.emit('rate-limit.refunded', { limiter, key: 'k', cost: 1 });
    }
    const samples = samplesOf(await scrape(registry), 'keel_rate_limit_refunds_total');
    expect(samples.map((s) => [s.labels.limiter, s.value])).toEqual([
      ['a', 1],
      ['b', 1],
      ['_overflow', 2],
    ]);
  });

  it('takes a prefix', async () => {
    const registry = new Registry();
    createPrometheusMetrics({ registry, prefix: 'shop_keel_' }).events.emit('cache.invalidate', {
      tags: 1,
      keys: 0,
    });
    expect(sampleSum(await scrape(registry), 'shop_keel_cache_invalidations_total')).toBe(1);
  });
});

describe('bad configuration', () => {
  it('refuses a registry that already has a metric of the same name, saying what to change', () => {
    const registry = new Registry();
    new Counter({ name: 'keel_cache_lookups_total', help: 'mine', registers: [registry] });
    let error: unknown;
    try {
      createPrometheusMetrics({ registry });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PrometheusMetricConflictError);
    expect(isKeelError(error) && error.code).toBe(codes.METRIC_CONFLICT);
    const message = (error as Error).message;
    expect(message).toContain('"keel_cache_lookups_total"');
    expect(message).toContain('prefix');
    // Nothing was registered by the failed attempt.
    expect(registry.getSingleMetric('keel_rate_limit_decisions_total')).toBeUndefined();
  });

  it('refuses a second set of metrics on the same registry', () => {
    const registry = new Registry();
    createPrometheusMetrics({ registry });
    expect(() => createPrometheusMetrics({ registry })).toThrow(PrometheusMetricConflictError);
    expect(() => createPrometheusMetrics({ registry, prefix: 'other_' })).not.toThrow();
  });

  it.each([
    [{}, /option "registry" must be a prom-client Registry/],
    [{ registry: {} }, /option "registry" must be a prom-client Registry/],
    [
      { registry: new Registry(), prefix: '9x' },
      /option "prefix" must be a Prometheus metric name prefix/,
    ],
    [
      { registry: new Registry(), buckets: [0.1, 0.05] },
      /option "buckets" must be a non-empty array of increasing/,
    ],
    [{ registry: new Registry(), events: () => {} }, /option "events" must be Keel events/],
    [{ registry: new Registry(), registery: 1 }, /unknown option "registery"/],
  ])('rejects bad options with a coded error: %#', (options, message) => {
    const attempt = () => createPrometheusMetrics(options as never);
    expect(attempt).toThrow(KeelOptionError);
    expect(attempt).toThrow(message);
  });
});
