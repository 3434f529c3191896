/** Koa 3 + koa-ratelimit 6 with its Redis driver (ioredis). */
import { createServer } from 'node:http';
import Koa from 'koa';
import ratelimit from 'koa-ratelimit';
import { announce } from './support/announce.js';
import { benchRedis, MINUTE_MS, PER_MINUTE } from './support/rate-limit.js';

const redis = await benchRedis('koa-ratelimit-redis');
const app = new Koa();
app.use(
  ratelimit({
    driver: 'redis',
    db: redis,
    duration: MINUTE_MS,
    max: PER_MINUTE,
    id: (ctx) => ctx.ip,
    namespace: 'keel-bench:koa-ratelimit',
  }),
);
app.use((ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/') {
    ctx.body = { ok: true, service: 'bench', items: [1, 2, 3] };
  }
});

await announce(createServer(app.callback()), () => redis.quit());
