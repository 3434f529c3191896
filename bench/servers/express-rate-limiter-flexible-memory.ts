/** Express 5 + rate-limiter-flexible 11 RateLimiterMemory in a minimal middleware. */
import { createServer } from 'node:http';
import express from 'express';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { announce } from './support/announce.js';
import { PER_MINUTE } from './support/rate-limit.js';

const limiter = new RateLimiterMemory({ points: PER_MINUTE, duration: 60 });

const app = express();
app.use((req, res, next) => {
  limiter.consume(req.ip ?? 'unknown').then(
    () => next(),
    () => res.status(429).end(),
  );
});
app.get('/', (_req, res) => {
  res.json({ ok: true, service: 'bench', items: [1, 2, 3] });
});

await announce(createServer(app));
