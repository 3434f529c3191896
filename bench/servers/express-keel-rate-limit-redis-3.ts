/**
 * Express 5 + Keel rateLimit() on Redis with three policies (burst, hourly, daily) checked
 * atomically by one script: still one EVALSHA per request.
 */
import { createServer } from 'node:http';
import { rateLimit } from '@keel/express';
import { createRedisStore } from '@keel/rate-limit';
import express from 'express';
import { announce } from './support/announce.js';
import { benchRedis, THREE_POLICIES } from './support/rate-limit.js';

const redis = await benchRedis('express-keel-rate-limit-redis-3');
const app = express();
app.use(
  rateLimit({
    name: 'bench3',
    // A 1 s deadline: the row measures the Redis path even on a loaded machine, where the
    // default 50 ms would hand requests to the memory fallback.
    store: createRedisStore({ client: redis, prefix: 'keel-bench:', deadlineMs: 1000 }),
    policies: [...THREE_POLICIES],
  }),
);
app.get('/', (_req, res) => {
  res.json({ ok: true, service: 'bench', items: [1, 2, 3] });
});

await announce(createServer(app), () => redis.quit());
