/** Express 5 + Keel rateLimit() on Redis, one policy (sliding window): one EVALSHA per request. */
import { createServer } from 'node:http';
import { rateLimit } from '@keel/express';
import { createRedisStore } from '@keel/rate-limit';
import express from 'express';
import { announce } from './support/announce.js';
import { benchRedis, MINUTE_MS, PER_MINUTE } from './support/rate-limit.js';

const redis = await benchRedis('express-keel-rate-limit-redis');
const app = express();
app.use(
  rateLimit({
    name: 'bench',
    // A 1 s deadline: the row measures the Redis path even on a loaded machine, where the
    // default 50 ms would hand requests to the memory fallback.
    store: createRedisStore({ client: redis, prefix: 'keel-bench:', deadlineMs: 1000 }),
    limit: PER_MINUTE,
    windowMs: MINUTE_MS,
  }),
);
app.get('/', (_req, res) => {
  res.json({ ok: true, service: 'bench', items: [1, 2, 3] });
});

await announce(createServer(app), () => redis.quit());
