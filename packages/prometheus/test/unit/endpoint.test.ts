import { createPrometheusMetrics, koaMetricsHandler, metricsHandler } from '@keel/prometheus';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { parseExposition, sampleSum } from '../support/exposition.js';

function expressApp(registry: Registry) {
  const app = express();
  app.get('/metrics', metricsHandler(registry));
  return app;
}

function koaApp(registry: Registry) {
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  router.get('/metrics', koaMetricsHandler(registry));
  app.use(router.routes());
  return app.callback();
}

describe.each([
  ['express', expressApp],
  ['koa', koaApp],
])('%s /metrics', (_framework, makeApp) => {
  it('serves the registry as Prometheus text', async () => {
    const registry = new Registry();
    const metrics = createPrometheusMetrics({ registry });
    metrics.events.emit('cache.hit', { key: 'h', layer: 'store', ageMs: 1 });
    const response = await request(makeApp(registry)).get('/metrics').expect(200);
    expect(response.headers['content-type']).toBe(registry.contentType);
    const scrape = parseExposition(response.text);
    expect(sampleSum(scrape, 'keel_cache_lookups_total', { outcome: 'hit', layer: 'store' })).toBe(
      1,
    );
  });

  it('answers 500 when collection fails', async () => {
    const registry = new Registry();
    registry.registerMetric({
      name: 'broken',
      help: 'fails to collect',
      type: 'gauge',
      get: () => Promise.reject(new Error('collector broke')),
      reset: () => {},
      aggregator: 'sum',
    } as never);
    const response = await request(makeApp(registry)).get('/metrics');
    expect(response.status).toBe(500);
  });
});
