/**
 * Real HTTP traffic through Express and Koa (the same scenario on both), recorded by both
 * adapters at once: the Prometheus registry is scraped over HTTP and parsed, the OpenTelemetry
 * SDK exports to its in-memory exporter, and both must count exactly what the traffic did.
 */
import { createCache } from '@keel/cache';
import { createEvents } from '@keel/core';
import { createMemoryIdempotencyStore } from '@keel/idempotency';
import { createOtelMetrics } from '@keel/otel';
import { createPrometheusMetrics } from '@keel/prometheus';
import { createMemoryStore } from '@keel/rate-limit';
import { Registry } from 'prom-client';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { metricsHarness, pointSum } from '../../packages/otel/test/support/sdk.js';
import { parseExposition, sampleSum } from '../../packages/prometheus/test/support/exposition.js';
import { pinHost } from '../support/pin-host.js';
import { frameworks } from './apps.js';

const LIMIT = 10;

describe.each(frameworks)('%s: one scenario, both adapters', (_name, makeApp) => {
  it('count rate-limit decisions, cache lookups and idempotency outcomes of real requests', async () => {
    const registry = new Registry();
    const events = createEvents();
    const prometheus = createPrometheusMetrics({ registry, events });
    const sdk = metricsHarness();
    createOtelMetrics({ events, meter: sdk.provider.getMeter('test') });
    const cache = createCache({ events });
    // One Host for every supertest request: the response cache keys on it.
    const app = pinHost(
      makeApp({
        events,
        registry,
        rateLimitStore: createMemoryStore(),
        cache,
        idempotencyStore: createMemoryIdempotencyStore(),
        limit: LIMIT,
      }),
    );
    const scrape = async () =>
      parseExposition((await request(app).get('/metrics').expect(200)).text);

    // Cache: a miss that stores, then hits.
    await request(app).get('/catalogue').expect(200);
    await expect
      .poll(async () => sampleSum(await scrape(), 'keel_cache_writes_total', { outcome: 'stored' }))
      .toBe(1);
    await request(app).get('/catalogue').expect(200);
    await request(app).get('/catalogue').expect(200);
    // Idempotency: claimed, replayed, mismatch, rejected.
    const order = (key: string | undefined, quantity: number) => {
      const call = request(app)
        .post('/orders')
        .send({ items: [{ id: 'p-1', quantity }] });
      return key ? call.set('idempotency-key', `"${key}"`) : call;
    };
    await order('k-1', 1).expect(201);
    await order('k-1', 1).expect(201).expect('idempotent-replayed', 'true');
    await order('k-1', 2).expect(422);
    await order(undefined, 1).expect(400);
    // Rate limit: 7 requests so far; 3 more pass, then 2 are refused.
    for (let i = 0; i < 3; i++) await request(app).get('/catalogue').expect(200);
    for (let i = 0; i < 2; i++) await request(app).get('/catalogue').expect(429);

    const text = await scrape();
    const otel = await sdk.collect();
    const decisions = (outcome: string) => [
      sampleSum(text, 'keel_rate_limit_decisions_total', { limiter: 'api', outcome }),
      pointSum(otel, 'keel.rate_limit.decisions', {
        'keel.rate_limit.limiter': 'api',
        'keel.outcome': outcome,
      }),
    ];
    expect(decisions('allowed')).toEqual([LIMIT, LIMIT]);
    expect(decisions('limited')).toEqual([2, 2]);
    const lookups = (outcome: string) => [
      sampleSum(text, 'keel_cache_lookups_total', { outcome }),
      pointSum(otel, 'keel.cache.lookups', { 'keel.outcome': outcome }),
    ];
    expect(lookups('miss')).toEqual([1, 1]);
    expect(lookups('hit')).toEqual([5, 5]);
    const requests = (outcome: string) => [
      sampleSum(text, 'keel_idempotency_requests_total', { outcome }),
      pointSum(otel, 'keel.idempotency.requests', { 'keel.outcome': outcome }),
    ];
    expect(requests('claimed')).toEqual([1, 1]);
    expect(requests('replayed')).toEqual([1, 1]);
    expect(requests('mismatch')).toEqual([1, 1]);
    expect(
      sampleSum(text, 'keel_idempotency_requests_total', {
        outcome: 'rejected',
        reason: 'key-missing',
      }),
    ).toBe(1);
    expect(sampleSum(text, 'keel_idempotency_claim_results_total', { outcome: 'completed' })).toBe(
      1,
    );

    // Nothing a client sent (key, address, body) reached a label.
    for (const sample of text.samples) {
      expect(Object.values(sample.labels).join(' ')).not.toMatch(/k-1|127\.0\.0\.1|::1|p-1/);
    }
    prometheus.close();
    await sdk.shutdown();
  });
});
