/** The handler every idempotency bench row runs: cheap, so the middleware's cost shows. */
import { idempotency } from '@keel/express';
import type { IdempotencyStore } from '@keel/idempotency';
import express, { type Express } from 'express';

let next = 0;

export interface BenchOrder {
  id: string;
  items: unknown;
  status: 'pending';
}

export function createOrder(body: unknown): BenchOrder {
  next++;
  return {
    id: `ord_${next}`,
    items: (body as { items?: unknown })?.items ?? [],
    status: 'pending',
  };
}

/**
 * Keel's `idempotency()` in front of POST /orders, on the store given: the app of every Keel
 * idempotency row, whichever client its store uses.
 */
export function keelOrdersApp(store: IdempotencyStore): Express {
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
  return app;
}
