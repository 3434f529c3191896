// An ESM Express app on the packed packages, as a user writes one after `npm install`.
// Serves the routes test/packaging/packed-install.test.ts drives; prints `listening <port>`.

import { createCache } from '@keel/cache';
import { createRedisClient, headerValue } from '@keel/core';
import { idempotency, rateLimit, responseCache } from '@keel/express';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import { createRedisStore } from '@keel/rate-limit';
import express from 'express';

const redis = createRedisClient(process.env.REDIS_URL);
const prefix = process.env.KEEL_PREFIX;
let orders = 0;
let originCalls = 0;

const app = express();
app.use(express.json());
app.get(
  '/limited',
  rateLimit({
    name: 'esm',
    store: createRedisStore({ client: redis, prefix, deadlineMs: 2000 }),
    limit: 2,
    windowMs: 60_000,
  }),
  (_req, res) => res.json({ ok: true }),
);
app.post(
  '/orders',
  idempotency({
    store: createRedisIdempotencyStore({ client: redis, prefix }),
    scope: (req) => headerValue(req.headers, 'x-user') ?? 'guest',
  }),
  (req, res) => res.status(201).json({ order: ++orders, items: req.body.items }),
);
app.get(
  '/catalogue',
  responseCache({ cache: createCache({ client: redis, prefix }), ttlMs: 60_000 }),
  (_req, res) => res.json({ originCalls: ++originCalls }),
);

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
