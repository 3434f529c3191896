// A TypeScript Express app on the packed packages. test/packaging type-checks it as ESM and
// (copied to .cts) as CommonJS under `nodenext`, and under `bundler`, then runs the ESM build
// through the same HTTP scenarios as the JavaScript apps. Prints `listening <port>`.
import type { AddressInfo } from 'node:net';
import { createCache } from '@keel/cache';
import { createEvents, createRedisClient, headerValue, isKeelError } from '@keel/core';
import { idempotency, rateLimit, responseCache } from '@keel/express';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import { createRedisStore, type RateLimitDecision } from '@keel/rate-limit';
import express from 'express';

const redis = createRedisClient(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = process.env.KEEL_PREFIX ?? 'keel:';
let orders = 0;
let originCalls = 0;

// Event names and attributes come from @keel/rate-limit's augmentation of @keel/core's
// KeelEventMap: this only compiles when the declarations of both packages are found.
const events = createEvents();
events.on((event) => {
  if (event.name === 'rate-limit.limited') {
    const limiter: string = event.attributes.limiter;
    void limiter;
  }
});

// The options are typed, not `any`: a wrong unit is a compile error (never called: it would
// also throw KEEL_ERR_INVALID_OPTION at run time).
void (() =>
  // @ts-expect-error windowMs is a number of milliseconds
  rateLimit({ name: 'wrong', limit: 1, windowMs: '1m' }));

const app = express();
app.use(express.json());
app.get(
  '/limited',
  rateLimit({
    name: 'typed',
    store: createRedisStore({ client: redis, prefix, deadlineMs: 2000 }),
    limit: 2,
    windowMs: 60_000,
    events,
  }),
  (_req, res) => {
    const decision: RateLimitDecision | undefined = res.locals.rateLimit;
    res.json({ ok: decision?.allowed ?? true });
  },
);
app.post(
  '/orders',
  idempotency({
    store: createRedisIdempotencyStore({ client: redis, prefix }),
    scope: (req) => headerValue(req.headers, 'x-user') ?? 'guest',
  }),
  (req, res) => {
    const body = req.body as { items?: unknown };
    res.status(201).json({ order: ++orders, items: body.items });
  },
);
app.get(
  '/catalogue',
  responseCache({ cache: createCache({ client: redis, prefix }), ttlMs: 60_000 }),
  (_req, res) => {
    res.json({ originCalls: ++originCalls });
  },
);
app.use(
  (error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(isKeelError(error) ? 503 : 500).json({ error: String(error) });
  },
);

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
