/**
 * The orders/payments API on Koa 3 with @koa/router and @koa/bodyparser. `createApp()` builds the
 * app without listening, so tests drive `app.callback()` with supertest; `server.ts` starts it.
 *
 * Keel at work: sessions (koa-session on Keel's store), a global and a login
 * rate limit, a cached catalogue invalidated by tag, and Idempotency-Key on order creation and
 * payment. Everything is in memory unless `deps.redis` is given. Every feature reports to
 * `deps.telemetry`: Prometheus text at `/metrics`, the admin-only operator page at `/admin/keel`
 * (operator.ts), and OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
 */

import { createCache } from '@keel/cache';
import { type ProblemDetails, problemResponse, type ResponseHeaders } from '@keel/core';
import {
  bearerToken,
  checkHealth,
  checkPassword,
  createExampleTelemetry,
  createGraphqlEndpoint,
  type ExampleDeps,
  parseLogin,
  parseNewOrder,
  parsePriceChange,
  problemForError,
  problems,
  type Role,
  WWW_AUTHENTICATE,
} from '@keel/example-shared';
import { createMemoryIdempotencyStore, createRedisIdempotencyStore } from '@keel/idempotency';
import { idempotency, rateLimit, responseCache, sendResponse } from '@keel/koa';
import { koaMetricsHandler } from '@keel/prometheus';
import { createMemoryStore, createRedisStore } from '@keel/rate-limit';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import { operatorRoutes } from './operator.js';
import { createSessions, sessionUser, startSession } from './sessions.js';

/** What the app is built from (see @keel/example-shared). */
export type AppDeps = ExampleDeps;

/** What `requireAuth` leaves in `ctx.state.user`. */
export interface AuthUser {
  username: string;
  role: Role;
}

/** App errors go out through the same writer as Keel's own problem responses. */
function sendProblem(ctx: Context, details: ProblemDetails, headers?: ResponseHeaders): void {
  sendResponse(ctx, problemResponse(details, headers));
}

function currentUser(ctx: Context): AuthUser {
  return ctx.state.user as AuthUser;
}

export function createApp(deps: AppDeps): Koa {
  const { data, tokens } = deps;
  const keyPrefix = deps.keyPrefix ?? 'keel:';
  const telemetry = deps.telemetry ?? createExampleTelemetry();
  const { events } = telemetry;
  const app = new Koa();
  const router = new Router();
  // Rate limits per client address (Redis in Redis mode, so all instances share the counts):
  // 300 requests a minute everywhere, and 10 failed logins per 15 minutes (see /login). Behind
  // a proxy, pass `identity: { trustProxy: … }` so the client is not the proxy.
  const rateLimitStore = deps.redis
    ? createRedisStore({ client: deps.redis, prefix: keyPrefix, events })
    : createMemoryStore();
  const loginLimit = rateLimit({
    name: 'login',
    store: rateLimitStore,
    limit: 10,
    windowMs: 15 * 60_000,
    algorithm: 'sliding-log',
    skipSuccessfulRequests: true,
  });

  /** Authentication: a signed-in session (sessions.ts), else a bearer token (API clients). */
  async function requireAuth(ctx: Context, next: Next): Promise<void> {
    // A signed-in session first (browsers); the bearer token remains for API clients.
    const signedIn = sessionUser(ctx);
    if (signedIn) {
      ctx.state.user = signedIn satisfies AuthUser;
      return next();
    }
    const token = bearerToken(ctx.get('authorization') || undefined);
    const username = token === undefined ? undefined : tokens.verify(token);
    const user = username === undefined ? undefined : await data.findUser(username);
    if (!user) {
      const detail = token === undefined ? undefined : 'The bearer token is invalid or expired.';
      sendProblem(ctx, problems.unauthorized(detail), { 'www-authenticate': WWW_AUTHENTICATE });
      return;
    }
    ctx.state.user = { username: user.username, role: user.role } satisfies AuthUser;
    await next();
  }

  function requireRole(role: Role) {
    return async (ctx: Context, next: Next): Promise<void> => {
      if (currentUser(ctx).role === role) return next();
      sendProblem(ctx, problems.forbidden(`Only ${role} users may do this.`));
    };
  }

  router.get('/health', async (ctx) => {
    const result = await checkHealth(deps.redis);
    if (result.ok) ctx.body = result.health;
    else sendProblem(ctx, result.problem);
  });

  router.post('/login', loginLimit, async (ctx) => {
    const parsed = parseLogin(ctx.request.body);
    if (!parsed.ok) return sendProblem(ctx, problems.validation(parsed.errors));
    const user = await checkPassword(data, parsed.value.username, parsed.value.password);
    if (!user) {
      return sendProblem(ctx, problems.invalidCredentials(), {
        'www-authenticate': WWW_AUTHENTICATE,
      });
    }
    // koa-session stores it before Koa answers: a store that cannot write makes this a 503.
    await startSession(ctx, { username: user.username, role: user.role });
    const { token, expiresAt } = tokens.sign(user.username);
    ctx.body = {
      token,
      tokenType: 'Bearer',
      expiresAt,
      user: { username: user.username, role: user.role },
    };
  });

  router.get('/me', requireAuth, (ctx) => {
    ctx.body = currentUser(ctx);
  });

  // Response cache: the slow catalogue is served from the cache for 30 s (Redis in Redis mode,
  // so instances share it; concurrent misses make one query), and dropped by tag on a change.
  const cache = createCache(
    deps.redis ? { client: deps.redis, prefix: keyPrefix, events } : { events },
  );
  const catalogueCache = responseCache({ cache, ttlMs: 30_000, tags: ['catalogue'] });
  router.get('/catalogue', catalogueCache, async (ctx) => {
    ctx.body = { products: await data.listProducts() };
  });

  // A price change drops every cached catalogue response (on every instance) before answering.
  router.patch('/catalogue/:id', requireAuth, requireRole('admin'), async (ctx) => {
    const parsed = parsePriceChange(ctx.request.body);
    if (!parsed.ok) return sendProblem(ctx, problems.validation(parsed.errors));
    const product = await data.updatePrice(ctx.params.id!, parsed.value.priceCents);
    if (!product) return sendProblem(ctx, problems.notFound(`No product ${ctx.params.id}.`));
    await cache.invalidate({ tags: ['catalogue'] });
    ctx.body = product;
  });

  // Idempotency-Key: a retried POST creates one order, and a retried payment charges once. One
  // store for both routes (Redis in Redis mode, so every instance shares it); records are kept
  // per user, so two users' keys never collide.
  const idempotencyStore = deps.redis
    ? createRedisIdempotencyStore({ client: deps.redis, prefix: keyPrefix, events })
    : createMemoryIdempotencyStore();
  const idempotent = (required: boolean) =>
    idempotency({
      store: idempotencyStore,
      required,
      scope: (req) => currentUser(req.raw).username,
      events,
    });

  router.post('/orders', requireAuth, idempotent(true), async (ctx) => {
    const parsed = parseNewOrder(ctx.request.body);
    if (!parsed.ok) return sendProblem(ctx, problems.validation(parsed.errors));
    const result = await data.createOrder(currentUser(ctx).username, parsed.value.items);
    if (result.kind === 'unknown-product') {
      const pointer = `/items/${parsed.value.items.findIndex((i) => i.productId === result.productId)}/productId`;
      return sendProblem(
        ctx,
        problems.validation([{ pointer, detail: `No product ${result.productId}.` }]),
      );
    }
    ctx.status = 201;
    ctx.set('location', `/orders/${result.order.id}`);
    ctx.body = result.order;
  });

  router.get('/orders', requireAuth, async (ctx) => {
    ctx.body = { orders: await data.listOrders(currentUser(ctx).username) };
  });

  router.get('/orders/:id', requireAuth, async (ctx) => {
    const order = await data.getOrder(currentUser(ctx).username, ctx.params.id!);
    if (!order) return sendProblem(ctx, problems.notFound(`No order ${ctx.params.id}.`));
    ctx.body = order;
  });

  // A GraphQL-style endpoint: points per user, spent with the rate limiter's key API
  // (examples/shared/src/graphql.ts), since a query's cost is only known once it is parsed.
  const graphql = createGraphqlEndpoint({ data, store: rateLimitStore, events });
  router.post('/graphql', requireAuth, async (ctx) => {
    sendResponse(ctx, await graphql.execute(currentUser(ctx).username, ctx.request.body));
  });

  router.post('/orders/:id/pay', requireAuth, idempotent(false), async (ctx) => {
    const result = await data.payOrder(currentUser(ctx).username, ctx.params.id!);
    if (result.kind === 'not-found') {
      return sendProblem(ctx, problems.notFound(`No order ${ctx.params.id}.`));
    }
    if (result.kind === 'already-paid') {
      return sendProblem(ctx, problems.orderAlreadyPaid(result.order.id));
    }
    ctx.body = { order: result.order, payment: result.payment };
  });

  // Outermost: unmatched routes and every error below become problem+json (Koa's defaults would
  // be text/plain).
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        sendProblem(ctx, problems.notFound(`No route for ${ctx.method} ${ctx.path}.`));
      }
    } catch (error) {
      if (ctx.headerSent) throw error; // too late for a problem body: let Koa end the response
      const details = problemForError(error);
      if (details.status >= 500) ctx.app.emit('error', error, ctx);
      sendProblem(ctx, details);
    }
  });
  // Sessions: koa-session on Keel's SessionStore (Redis in Redis mode), see sessions.ts. The
  // account routes parse their own (form) bodies, so they come before the JSON-only parser.
  const sessions = createSessions(app, deps);
  app.use(sessions.middleware);
  app.use(sessions.routes);
  // Observability, ahead of the rate limit so scrapes and the page's polling are not counted.
  const observability = operatorRoutes(telemetry, [requireAuth, requireRole('admin')]);
  observability.get('/metrics', koaMetricsHandler(telemetry.registry));
  app.use(observability.routes());
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '16kb' }));
  app.use(
    rateLimit({ name: 'global', store: rateLimitStore, limit: 300, windowMs: 60_000, events }),
  );
  // No allowedMethods(): like the Express example, a wrong method is a 404, not a 405.
  app.use(router.routes());

  return app;
}
