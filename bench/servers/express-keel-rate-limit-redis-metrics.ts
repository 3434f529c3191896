/**
 * The `express-keel-rate-limit-redis` server with @keel/prometheus attached: the limiter and its
 * Redis store report to one events object recorded on a prom-client registry (a decision
 * counter and a store-call histogram observation per request). Compared with the same server
 * without metrics, it is the cost of observability per request.
 */
import { createServer } from 'node:http';
import { rateLimit } from '@keel/express';
import { createPrometheusMetrics } from '@keel/prometheus';
import { createRedisStore } from '@keel/rate-limit';
import express from 'express';
import { Registry } from 'prom-client';
import { announce } from './support/announce.js';
import { benchRedis, MINUTE_MS, PER_MINUTE } from './support/rate-limit.js';

const redis = await benchRedis('express-keel-rate-limit-redis-metrics');
const { events } = createPrometheusMetrics({ registry: new Registry() });
const app = express();
app.use(
  rateLimit({
    name: 'bench',
    // As in the row without metrics: a 1 s deadline keeps the row on the Redis path.
    store: createRedisStore({ client: redis, prefix: 'keel-bench:', deadlineMs: 1000, events }),
    limit: PER_MINUTE,
    windowMs: MINUTE_MS,
    events,
  }),
);
app.get('/', (_req, res) => {
  res.json({ ok: true, service: 'bench', items: [1, 2, 3] });
});

await announce(createServer(app), () => redis.quit());
