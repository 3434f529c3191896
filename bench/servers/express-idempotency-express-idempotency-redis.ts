/**
 * express-idempotency 1.0.6 with express-idempotency-redis-adapter 1.0.8 (node-redis 4): GET
 * the key, SET it in progress, run the handler, SET the response — three round trips per first
 * execution, and a check-then-set race between the GET and the SET. Its records use the raw
 * header value as the Redis key, so the bench sends keys that start with `keel-bench:`.
 */
import { createServer } from 'node:http';
import express from 'express';
import { getSharedIdempotencyService, idempotency } from 'express-idempotency';
import redisAdapterModule from 'express-idempotency-redis-adapter';
import { announce, benchRedisUrl } from './support/announce.js';
import { createOrder } from './support/orders.js';

// A CommonJS module whose class is `exports.default`: under Node's ESM interop that is `.default`.
const RedisAdapter = redisAdapterModule.default;
const dataAdapter = new RedisAdapter({ connectionConfig: { url: benchRedisUrl() }, ttl: 60 });
await dataAdapter.connect();

const app = express();
app.use(express.json());
app.post('/orders', idempotency({ dataAdapter }), (req, res) => {
  // express-idempotency sends a replay itself and still calls next(): handlers must check.
  if (getSharedIdempotencyService().isHit(req)) return;
  const order = createOrder(req.body);
  res.status(201).location(`/orders/${order.id}`).json(order);
});

await announce(createServer(app), () => dataAdapter.disconnect());
