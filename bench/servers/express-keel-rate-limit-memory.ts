/** Express 5 + Keel rateLimit() with the in-process memory store (the default), one policy. */
import { createServer } from 'node:http';
import { rateLimit } from '@keel/express';
import express from 'express';
import { announce } from './support/announce.js';
import { MINUTE_MS, PER_MINUTE } from './support/rate-limit.js';

const app = express();
app.use(rateLimit({ name: 'bench', limit: PER_MINUTE, windowMs: MINUTE_MS }));
app.get('/', (_req, res) => {
  res.json({ ok: true, service: 'bench', items: [1, 2, 3] });
});

await announce(createServer(app));
