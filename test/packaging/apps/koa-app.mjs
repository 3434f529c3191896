// An ESM Koa app on the packed packages: the same routes as express-app.mjs, so the same
// scenarios run against both. Prints `listening <port>`.
import { createCache } from '@keel/cache';
import { createRedisClient, headerValue } from '@keel/core';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import { idempotency, rateLimit, responseCache } from '@keel/koa';
import { createRedisStore } from '@keel/rate-limit';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';

const redis = createRedisClient(process.env.REDIS_URL);
const prefix = process.env.KEEL_PREFIX;
let orders = 0;
let originCalls = 0;

const limited = rateLimit({
  name: 'koa',
  store: createRedisStore({ client: redis, prefix, deadlineMs: 2000 }),
  limit: 2,
  windowMs: 60_000,
});
const idempotent = idempotency({
  store: createRedisIdempotencyStore({ client: redis, prefix }),
  scope: (req) => headerValue(req.headers, 'x-user') ?? 'guest',
});
const cached = responseCache({ cache: createCache({ client: redis, prefix }), ttlMs: 60_000 });

const app = new Koa();
app.use(bodyParser());
app.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/limited') {
    return limited(ctx, async () => {
      ctx.body = { ok: true };
    });
  }
  if (ctx.method === 'POST' && ctx.path === '/orders') {
    return idempotent(ctx, async () => {
      ctx.status = 201;
      ctx.body = { order: ++orders, items: ctx.request.body.items };
    });
  }
  if (ctx.method === 'GET' && ctx.path === '/catalogue') {
    return cached(ctx, async () => {
      ctx.body = { originCalls: ++originCalls };
    });
  }
  return next();
});

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
