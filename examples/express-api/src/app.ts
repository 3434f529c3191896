/**
 * The orders/payments API on Express 5. `createApp()` builds the app without listening, so tests
 * drive it with supertest; `server.ts` starts it.
 *
 * Keel at work: sessions (express-session on Keel's store), a global and a login
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
import { idempotency, rateLimit, responseCache, sendResponse } from '@keel/express';
import { createMemoryIdempotencyStore, createRedisIdempotencyStore } from '@keel/idempotency';
import { metricsHandler } from '@keel/prometheus';
import { createMemoryStore, createRedisStore } from '@keel/rate-limit';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { operatorRoutes } from './operator.js';
import { createSessions, sessionUser, startSession } from './sessions.js';

/** What the app is built from (see @keel/example-shared). */
export type AppDeps = ExampleDeps;

/** What `requireAuth` leaves in `res.locals.user`. */
export interface AuthUser {
  username: string;
  role: Role;
}

/** App errors go out through the same writer as Keel's own problem responses. */
function sendProblem(res: Response, details: ProblemDetails, headers?: ResponseHeaders): void {
  sendResponse(res, problemResponse(details, headers));
}

function currentUser(res: Response): AuthUser {
  return res.locals.user as AuthUser;
}

/** The `:id` route parameter (typed loosely by @types/express once middleware precedes). */
function idParam(req: Request): string {
  const id = req.params.id;
  return typeof id === 'string' ? id : '';
}

export function createApp(deps: AppDeps): Express {
  const { data, tokens } = deps;
  const keyPrefix = deps.keyPrefix ?? 'keel:';
  const telemetry = deps.telemetry ?? createExampleTelemetry();
  const { events } = telemetry;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  // Sessions: express-session on Keel's SessionStore (Redis in Redis mode), see sessions.ts.
  const sessions = createSessions(deps);
  app.use(sessions.middleware);
  // Observability, ahead of the rate limit so scrapes and the page's polling are not counted.
  app.get('/metrics', metricsHandler(telemetry.registry));
  app.use(operatorRoutes(telemetry, [requireAuth, requireRole('admin')]));
  // Rate limits per client address (Redis in Redis mode, so all instances share the counts):
  // 300 requests a minute everywhere, and 10 failed logins per 15 minutes (see /login). Behind
  // a proxy, pass `identity: { trustProxy: … }` so the client is not the proxy.
  const rateLimitStore = deps.redis
    ? createRedisStore({ client: deps.redis, prefix: keyPrefix, events })
    : createMemoryStore();
  app.use(
    rateLimit({ name: 'global', store: rateLimitStore, limit: 300, windowMs: 60_000, events }),
  );
  const loginLimit = rateLimit({
    name: 'login',
    store: rateLimitStore,
    limit: 10,
    windowMs: 15 * 60_000,
    algorithm: 'sliding-log',
    skipSuccessfulRequests: true,
  });

  /** Authentication: a signed-in session (sessions.ts), else a bearer token (API clients). */
  async function requireAuth(req: Request, res: Response, next: NextFunction): Promise<void> {
    // A signed-in session first (browsers); the bearer token remains for API clients.
    const signedIn = sessionUser(req);
    if (signedIn) {
      res.locals.user = signedIn satisfies AuthUser;
      return next();
    }
    const token = bearerToken(req.get('authorization'));
    const username = token === undefined ? undefined : tokens.verify(token);
    const user = username === undefined ? undefined : await data.findUser(username);
    if (!user) {
      const detail = token === undefined ? undefined : 'The bearer token is invalid or expired.';
      sendProblem(res, problems.unauthorized(detail), { 'www-authenticate': WWW_AUTHENTICATE });
      return;
    }
    res.locals.user = { username: user.username, role: user.role } satisfies AuthUser;
    next();
  }

  function requireRole(role: Role) {
    return (_req: Request, res: Response, next: NextFunction): void => {
      if (currentUser(res).role === role) next();
      else sendProblem(res, problems.forbidden(`Only ${role} users may do this.`));
    };
  }

  app.get('/health', async (_req, res) => {
    const result = await checkHealth(deps.redis);
    if (result.ok) res.json(result.health);
    else sendProblem(res, result.problem);
  });

  app.post('/login', loginLimit, async (req, res) => {
    const parsed = parseLogin(req.body);
    if (!parsed.ok) return sendProblem(res, problems.validation(parsed.errors));
    const user = await checkPassword(data, parsed.value.username, parsed.value.password);
    if (!user) {
      return sendProblem(res, problems.invalidCredentials(), {
        'www-authenticate': WWW_AUTHENTICATE,
      });
    }
    // Stored before answering: a store that cannot write makes this a 503, not a 200 and a
    // cookie naming no session (see startSession).
    await startSession(req, { username: user.username, role: user.role });
    const { token, expiresAt } = tokens.sign(user.username);
    res.json({
      token,
      tokenType: 'Bearer',
      expiresAt,
      user: { username: user.username, role: user.role },
    });
  });

  app.get('/me', requireAuth, (_req, res) => {
    res.json(currentUser(res));
  });

  // Response cache: the slow catalogue is served from the cache for 30 s (Redis in Redis mode,
  // so instances share it; concurrent misses make one query), and dropped by tag on a change.
  const cache = createCache(
    deps.redis ? { client: deps.redis, prefix: keyPrefix, events } : { events },
  );
  const catalogueCache = responseCache({ cache, ttlMs: 30_000, tags: ['catalogue'] });
  app.get('/catalogue', catalogueCache, async (_req, res) => {
    res.json({ products: await data.listProducts() });
  });

  // A price change drops every cached catalogue response (on every instance) before answering.
  app.patch('/catalogue/:id', requireAuth, requireRole('admin'), async (req, res) => {
    const parsed = parsePriceChange(req.body);
    if (!parsed.ok) return sendProblem(res, problems.validation(parsed.errors));
    const product = await data.updatePrice(idParam(req), parsed.value.priceCents);
    if (!product) return sendProblem(res, problems.notFound(`No product ${idParam(req)}.`));
    await cache.invalidate({ tags: ['catalogue'] });
    res.json(product);
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
      scope: (req) => (req.raw.res ? currentUser(req.raw.res).username : undefined),
      events,
    });

  app.post('/orders', requireAuth, idempotent(true), async (req, res) => {
    const parsed = parseNewOrder(req.body);
    if (!parsed.ok) return sendProblem(res, problems.validation(parsed.errors));
    const result = await data.createOrder(currentUser(res).username, parsed.value.items);
    if (result.kind === 'unknown-product') {
      const pointer = `/items/${parsed.value.items.findIndex((i) => i.productId === result.productId)}/productId`;
      return sendProblem(
        res,
        problems.validation([{ pointer, detail: `No product ${result.productId}.` }]),
      );
    }
    res.status(201).location(`/orders/${result.order.id}`).json(result.order);
  });

  app.get('/orders', requireAuth, async (_req, res) => {
    res.json({ orders: await data.listOrders(currentUser(res).username) });
  });

  app.get('/orders/:id', requireAuth, async (req, res) => {
    const order = await data.getOrder(currentUser(res).username, idParam(req));
    if (!order) return sendProblem(res, problems.notFound(`No order ${idParam(req)}.`));
    res.json(order);
  });

  app.post('/orders/:id/pay', requireAuth, idempotent(false), async (req, res) => {
    const result = await data.payOrder(currentUser(res).username, idParam(req));
    if (result.kind === 'not-found') {
      return sendProblem(res, problems.notFound(`No order ${idParam(req)}.`));
    }
    if (result.kind === 'already-paid') {
      return sendProblem(res, problems.orderAlreadyPaid(result.order.id));
    }
    res.json({ order: result.order, payment: result.payment });
  });

  // A GraphQL-style endpoint: points per user, spent with the rate limiter's key API
  // (examples/shared/src/graphql.ts), since a query's cost is only known once it is parsed.
  const graphql = createGraphqlEndpoint({ data, store: rateLimitStore, events });
  app.post('/graphql', requireAuth, async (req, res) => {
    sendResponse(res, await graphql.execute(currentUser(res).username, req.body));
  });

  app.use(sessions.routes);

  app.use((req, res) => {
    sendProblem(res, problems.notFound(`No route for ${req.method} ${req.path}.`));
  });

  // Express recognises an error handler by its four parameters.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const details = problemForError(error);
    if (details.status >= 500) console.error(error);
    sendProblem(res, details);
  });

  return app;
}
