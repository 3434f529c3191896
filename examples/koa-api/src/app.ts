/**
 * The orders/payments API on Koa 3 with @koa/router and @koa/bodyparser. `createApp()` builds the
 * app without listening, so tests drive `app.callback()` with supertest; `server.ts` starts it.
 *
 * Where Keel's features will plug in is marked `// later:` — each feature issue replaces its
 * marker with the real middleware from `@keel/koa`.
 */

import { type ProblemDetails, problemResponse, type ResponseHeaders } from '@keel/core';
import {
  bearerToken,
  checkHealth,
  checkPassword,
  type ExampleDeps,
  parseLogin,
  parseNewOrder,
  parsePriceChange,
  problemForError,
  problems,
  type Role,
  WWW_AUTHENTICATE,
} from '@keel/example-shared';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';

/** What the app is built from (see @keel/example-shared). */
export type AppDeps = ExampleDeps;

/** What `requireAuth` leaves in `ctx.state.user`. */
export interface AuthUser {
  username: string;
  role: Role;
}

// later: `sendProblem` may come from @keel/koa, so app errors and Keel's share one writer.
function sendProblem(ctx: Context, details: ProblemDetails, headers?: ResponseHeaders): void {
  const response = problemResponse(details, headers);
  ctx.status = response.status;
  ctx.set(response.headers);
  // Content-Type is already set, so Koa keeps it rather than defaulting a Buffer to octet-stream.
  ctx.body = Buffer.from(response.body);
}

function currentUser(ctx: Context): AuthUser {
  return ctx.state.user as AuthUser;
}

export function createApp(deps: AppDeps): Koa {
  const { data, tokens } = deps;
  const app = new Koa();
  const router = new Router();

  /** Bearer-token authentication; the sessions feature will replace it with a session store. */
  async function requireAuth(ctx: Context, next: Next): Promise<void> {
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

  router.post('/login', async (ctx) => {
    const parsed = parseLogin(ctx.request.body);
    if (!parsed.ok) return sendProblem(ctx, problems.validation(parsed.errors));
    const user = await checkPassword(data, parsed.value.username, parsed.value.password);
    if (!user) {
      return sendProblem(ctx, problems.invalidCredentials(), {
        'www-authenticate': WWW_AUTHENTICATE,
      });
    }
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

  // later: responseCache({ ttlMs: 30_000, tags: ['catalogue'] }) from @keel/koa.
  router.get('/catalogue', async (ctx) => {
    ctx.body = { products: await data.listProducts() };
  });

  // later: invalidate the 'catalogue' cache tag after the change.
  router.patch('/catalogue/:id', requireAuth, requireRole('admin'), async (ctx) => {
    const parsed = parsePriceChange(ctx.request.body);
    if (!parsed.ok) return sendProblem(ctx, problems.validation(parsed.errors));
    const product = await data.updatePrice(ctx.params.id!, parsed.value.priceCents);
    if (!product) return sendProblem(ctx, problems.notFound(`No product ${ctx.params.id}.`));
    ctx.body = product;
  });

  // later: idempotency({ required: true }) from @keel/koa, so a retried POST creates one order.
  router.post('/orders', requireAuth, async (ctx) => {
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

  // later: idempotency() here too — a payment retried after a timeout must not charge twice.
  router.post('/orders/:id/pay', requireAuth, async (ctx) => {
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
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '16kb' }));
  // later: app.use(rateLimit({ ... })) from @keel/koa — per client, Redis store in Redis mode.
  // No allowedMethods(): like the Express example, a wrong method is a 404, not a 405.
  app.use(router.routes());

  return app;
}
