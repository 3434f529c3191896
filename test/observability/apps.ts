/**
 * The same small app on Express and on Koa, with every feature that emits per-request events
 * (a global rate limit, a cached GET, an idempotent POST) and `/metrics` ahead of the limiter,
 * all reporting through one `KeelEvents` that the adapters under test listen to.
 */
import type { Cache } from '@keel/cache';
import type { KeelEvents } from '@keel/core';
import * as keelExpress from '@keel/express';
import type { IdempotencyStore } from '@keel/idempotency';
import * as keelKoa from '@keel/koa';
import { koaMetricsHandler, metricsHandler } from '@keel/prometheus';
import type { RateLimitStore } from '@keel/rate-limit';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import type { Registry } from 'prom-client';
import type request from 'supertest';

export interface AppDeps {
  events: KeelEvents;
  registry: Registry;
  rateLimitStore: RateLimitStore;
  cache: Cache;
  idempotencyStore: IdempotencyStore;
  /** Requests per minute before 429. */
  limit: number;
  /** Wraps the rest of every request (runs it under an HTTP span in the tracing tests). */
  around?: <T>(run: () => T) => T;
}

export type App = Parameters<typeof request>[0];

export const CATALOGUE = { products: [{ id: 'p-1', priceCents: 250 }] };

export function makeExpressApp(deps: AppDeps): App {
  const app = express();
  const { events } = deps;
  if (deps.around) {
    const around = deps.around;
    app.use((_req, _res, next) => around(() => next()));
  }
  app.get('/metrics', metricsHandler(deps.registry));
  app.use(express.json());
  const limit = { name: 'api', store: deps.rateLimitStore, limit: deps.limit, windowMs: 60_000 };
  app.use(keelExpress.rateLimit({ ...limit, events }));
  app.get(
    '/catalogue',
    keelExpress.responseCache({ cache: deps.cache, ttlMs: 60_000 }),
    (_req, res) => {
      res.json(CATALOGUE);
    },
  );
  const idempotent = keelExpress.idempotency({
    store: deps.idempotencyStore,
    required: true,
    scope: () => 'tenant-1',
    events,
  });
  app.post('/orders', idempotent, (req, res) => {
    res.status(201).json({ id: 'o-1', items: req.body?.items ?? [] });
  });
  return app;
}

export function makeKoaApp(deps: AppDeps): App {
  const app = new Koa();
  app.silent = true;
  const { events } = deps;
  const router = new Router();
  if (deps.around) {
    const around = deps.around;
    app.use((_ctx, next) => around(() => next()));
  }
  router.get('/metrics', koaMetricsHandler(deps.registry));
  const limit = { name: 'api', store: deps.rateLimitStore, limit: deps.limit, windowMs: 60_000 };
  const limiter = keelKoa.rateLimit({ ...limit, events });
  router.get(
    '/catalogue',
    limiter,
    keelKoa.responseCache({ cache: deps.cache, ttlMs: 60_000 }),
    (ctx) => {
      ctx.body = CATALOGUE;
    },
  );
  const idempotent = keelKoa.idempotency({
    store: deps.idempotencyStore,
    required: true,
    scope: () => 'tenant-1',
    events,
  });
  router.post('/orders', limiter, idempotent, (ctx) => {
    ctx.status = 201;
    ctx.body = { id: 'o-1', items: (ctx.request.body as { items?: unknown })?.items ?? [] };
  });
  app.use(bodyParser({ enableTypes: ['json'] }));
  app.use(router.routes());
  return app.callback();
}

export const frameworks = [
  ['express', makeExpressApp],
  ['koa', makeKoaApp],
] as const;
