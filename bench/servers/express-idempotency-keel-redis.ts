/**
 * Keel's `idempotency()` on Redis in front of the bench POST route: one EVALSHA to claim, the
 * handler, one EVALSHA to complete (2 round trips per first execution, 1 per replay). Records
 * live under `keel-bench:` for one minute.
 */
import { createServer } from 'node:http';
import { createRedisClient } from '@keel/core';
import { idempotency } from '@keel/express';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import express from 'express';
import { announce, benchRedisUrl } from './support/announce.js';
import { createOrder } from './support/orders.js';

const redis = createRedisClient({ url: benchRedisUrl() });
const store = createRedisIdempotencyStore({ client: redis, prefix: 'keel-bench:' });

const app = express();
app.use(express.json());
app.post(
  '/orders',
  // A real app scopes by the authenticated caller; the bench has one caller.
  idempotency({ store, scope: () => 'bench-client', retentionMs: 60_000 }),
  (req, res) => {
    const order = createOrder(req.body);
    res.status(201).location(`/orders/${order.id}`).json(order);
  },
);

await announce(createServer(app), () => redis.quit());
