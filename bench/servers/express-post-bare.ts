/**
 * The idempotency rows' floor: Express 5 with `express.json()`, one POST route that "creates an
 * order" (a small JSON body in, 201 with a small JSON body and a Location out), no middleware.
 */
import { createServer } from 'node:http';
import express from 'express';
import { announce } from './support/announce.js';
import { createOrder } from './support/orders.js';

const app = express();
app.use(express.json());
app.post('/orders', (req, res) => {
  const order = createOrder(req.body);
  res.status(201).location(`/orders/${order.id}`).json(order);
});

await announce(createServer(app));
