/**
 * @node-idempotency/core 1.0.11 with its Redis storage adapter (node-redis 4), wired into Express
 * the way its Express plugin does: `onRequest` before the handler (SET NX, then GET on a
 * duplicate), `onResponse` after `res.send` (SET). Its Express plugin, @node-idempotency/express,
 * is not published on the npm registry, so this ~20-line glue stands in for it.
 */
import { createServer } from 'node:http';
import { Idempotency, IdempotencyError } from '@node-idempotency/core';
import { RedisStorageAdapter } from '@node-idempotency/storage-adapter-redis';
import express from 'express';
import { announce, benchRedisUrl } from './support/announce.js';
import { createOrder } from './support/orders.js';

const storage = new RedisStorageAdapter({ url: benchRedisUrl() });
await storage.connect();
const idempotency = new Idempotency(storage, {
  cacheKeyPrefix: 'keel-bench:node-idempotency',
  cacheTTLMS: 60_000,
});

const app = express();
app.use(express.json());
app.post(
  '/orders',
  async (req, res, next) => {
    const params = { headers: req.headers, body: req.body, path: req.url, method: req.method };
    try {
      const cached = await idempotency.onRequest(params);
      if (cached) {
        const status = Number(cached.additional?.statusCode ?? 200);
        res
          .status(status)
          .set('idempotent-replayed', 'true')
          .send(cached.body ?? cached.error);
        return;
      }
      const send = res.send.bind(res);
      res.send = (body?: unknown) => {
        const additional = { statusCode: res.statusCode };
        void idempotency.onResponse(params, { additional, body }).catch(() => {});
        return send(body);
      };
      next();
    } catch (error) {
      if (error instanceof IdempotencyError) res.status(409).json({ error: error.message });
      else next(error);
    }
  },
  (req, res) => {
    const order = createOrder(req.body);
    res.status(201).location(`/orders/${order.id}`).json(order);
  },
);

await announce(createServer(app), () => storage.disconnect());
