/**
 * Rate limiting over HTTP, one scenario list run against real Express and Koa apps: the
 * 429 problem, RateLimit headers in each format, merged headers of two limiters, refunds by
 * response status, keys, skips, costs and custom handlers.
 */
import { createEvents, createManualClock, headerValue, type KeelEvent } from '@keel/core';
import { createMemoryStore, QUOTA_EXCEEDED_TYPE, type RateLimiterOptions } from '@keel/rate-limit';
import { parseList } from 'structured-headers';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { frameworks } from './apps.js';

/** `RateLimit` / `RateLimit-Policy` parsed as RFC 9651 lists: `{ name: { r, t } }`. */
function parsed(header: string | undefined): Record<string, Record<string, unknown>> {
  expect(header).toBeDefined();
  const out: Record<string, Record<string, unknown>> = {};
  for (const [value, params] of parseList(header!)) {
    expect(typeof value).toBe('string');
    out[value as string] = Object.fromEntries(params as Map<string, unknown>);
  }
  return out;
}

/** A fixed window per minute on a memory store whose clock stands still (exact `t` values). */
const perMinute = (limit: number, extra: RateLimiterOptions = {}): RateLimiterOptions => ({
  name: 'global',
  limit,
  windowMs: 60_000,
  algorithm: 'fixed-window',
  store: createMemoryStore({ clock: createManualClock() }),
  ...extra,
});

describe.each(frameworks)('rate limiting on %s', (_name, makeApp) => {
  it('allows the limit, then answers 429 quota-exceeded problem+json with Retry-After', async () => {
    const app = makeApp({ global: perMinute(2) });
    for (const remaining of [1, 0]) {
      const res = await request(app).get('/ok').expect(200);
      expect(parsed(res.headers.ratelimit)).toEqual({ global: { r: remaining, t: 60 } });
      expect(parsed(res.headers['ratelimit-policy'])).toEqual({ global: { q: 2, w: 60 } });
    }
    const res = await request(app).get('/ok').expect(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: QUOTA_EXCEEDED_TYPE,
      status: 429,
      code: 'KEEL_ERR_RATE_LIMITED',
      'violated-policies': ['global'],
    });
    const t = parsed(res.headers.ratelimit).global!.t as number;
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(t);
    expect(t).toBe(60);
  });

  it('merges the policies of two limiters on one request into one list', async () => {
    const app = makeApp({
      global: perMinute(100),
      login: {
        name: 'login',
        limit: 3,
        windowMs: 900_000,
        algorithm: 'sliding-log',
        store: createMemoryStore({ clock: createManualClock() }),
      },
    });
    const res = await request(app).post('/login').expect(200);
    expect(parsed(res.headers.ratelimit)).toEqual({
      global: { r: 99, t: 60 },
      login: { r: 2, t: 900 },
    });
    expect(parsed(res.headers['ratelimit-policy'])).toEqual({
      global: { q: 100, w: 60 },
      login: { q: 3, w: 900 },
    });
    const other = await request(app).get('/ok').expect(200);
    expect(Object.keys(parsed(other.headers.ratelimit))).toEqual(['global']);
  });

  it('the stricter login limit refuses while the global one still allows', async () => {
    const app = makeApp({
      global: perMinute(100),
      login: { name: 'login', limit: 2, windowMs: 900_000, skipSuccessfulRequests: true },
    });
    // Successful logins are refunded: only failures count towards the brute-force limit.
    for (let i = 0; i < 3; i++) await request(app).post('/login').expect(200);
    await request(app).post('/login?fail=1').expect(401);
    await request(app).post('/login?fail=1').expect(401);
    const res = await request(app).post('/login?fail=1').expect(429);
    expect(res.body['violated-policies']).toEqual(['login']);
    await request(app).get('/ok').expect(200);
  });

  it('sends express-rate-limit draft-7, draft-6 and legacy forms on request', async () => {
    const draft7 = await request(makeApp({ global: perMinute(5, { standardHeaders: 'draft-7' }) }))
      .get('/ok')
      .expect(200);
    expect(draft7.headers.ratelimit).toBe('limit=5, remaining=4, reset=60');
    expect(draft7.headers['ratelimit-policy']).toBe('5;w=60');

    const draft6 = await request(
      makeApp({ global: perMinute(5, { standardHeaders: 'draft-6', legacyHeaders: true }) }),
    )
      .get('/ok')
      .expect(200);
    expect(draft6.headers).toMatchObject({
      'ratelimit-limit': '5',
      'ratelimit-remaining': '4',
      'ratelimit-reset': '60',
      'ratelimit-policy': '5;w=60',
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '4',
    });
    const reset = Number(draft6.headers['x-ratelimit-reset']);
    expect(Math.abs(reset - (Date.now() / 1000 + 60))).toBeLessThan(5);

    const none = await request(makeApp({ global: perMinute(5, { standardHeaders: false }) }))
      .get('/ok')
      .expect(200);
    expect(none.headers.ratelimit).toBeUndefined();
  });

  it('several policies in one limiter: one refuses, none is charged', async () => {
    const app = makeApp({
      global: {
        name: 'api',
        store: createMemoryStore({ clock: createManualClock() }),
        policies: [
          { name: 'burst', limit: 2, windowMs: 60_000, algorithm: 'token-bucket' },
          { name: 'hourly', limit: 100, windowMs: 3_600_000 },
        ],
      },
    });
    await request(app).get('/ok').expect(200);
    await request(app).get('/ok').expect(200);
    const res = await request(app).get('/ok').expect(429);
    expect(res.body['violated-policies']).toEqual(['burst']);
    expect(parsed(res.headers.ratelimit)).toMatchObject({ burst: { r: 0 }, hourly: { r: 98 } });
  });

  it('refunds failed responses with skipFailedRequests (errors, thrown handlers, 4xx/5xx)', async () => {
    const app = makeApp({ global: perMinute(2, { skipFailedRequests: true }) });
    await request(app).get('/status/500').expect(500);
    await request(app).get('/throw').expect(500);
    await request(app).get('/status/404').expect(404);
    await request(app).get('/ok').expect(200);
    const res = await request(app).get('/ok').expect(200);
    expect(parsed(res.headers.ratelimit).global!.r).toBe(0);
    await request(app).get('/ok').expect(429);
  });

  it('uses a custom "was successful" test', async () => {
    const app = makeApp({
      global: perMinute(1, {
        skipFailedRequests: true,
        requestWasSuccessful: (_req, status) => status !== 503,
      }),
    });
    await request(app).get('/status/503').expect(503);
    await request(app).get('/status/500').expect(500);
    await request(app).get('/ok').expect(429);
  });

  it('keys by keyGenerator (e.g. an API key), one bucket per key', async () => {
    const app = makeApp({
      global: perMinute(1, {
        keyGenerator: (req) => headerValue(req.headers, 'x-api-key') ?? 'anonymous',
      }),
    });
    await request(app).get('/ok').set('x-api-key', 'a').expect(200);
    await request(app).get('/ok').set('x-api-key', 'b').expect(200);
    await request(app).get('/ok').set('x-api-key', 'a').expect(429);
  });

  it('skips and allow-lists without counting or headers', async () => {
    const app = makeApp({
      global: perMinute(1, { skip: (req) => req.path === '/status/204' }),
    });
    const skipped = await request(app).get('/status/204').expect(204);
    expect(skipped.headers.ratelimit).toBeUndefined();
    await request(app).get('/ok').expect(200);
    await request(app).get('/ok').expect(429);

    const listed = makeApp({
      global: perMinute(1, { allowList: ['127.0.0.1', '::ffff:127.0.0.1'] }),
    });
    for (let i = 0; i < 3; i++) await request(listed).get('/ok').expect(200);
  });

  it('charges a cost per request, fixed or computed', async () => {
    const app = makeApp({
      global: perMinute(10, { cost: (req) => (req.path === '/status/201' ? 4 : 1) }),
    });
    await request(app).get('/status/201').expect(201);
    await request(app).get('/status/201').expect(201);
    const res = await request(app).get('/status/201').expect(429);
    expect(parsed(res.headers.ratelimit).global!.r).toBe(2);
    await request(app).get('/ok').expect(200);
  });

  it('answers with a custom handler, keeping the RateLimit headers and Retry-After', async () => {
    const app = makeApp({
      global: perMinute(1, {
        handler: (_req, decision) => ({
          status: 503,
          headers: { 'content-type': 'text/plain' },
          body: Buffer.from(`slow down: ${decision.violated.join(',')}`),
        }),
      }),
    });
    await request(app).get('/ok').expect(200);
    const res = await request(app).get('/ok').expect(503);
    expect(res.text).toBe('slow down: global');
    expect(res.headers['retry-after']).toBe('60');
    expect(parsed(res.headers.ratelimit)).toEqual({ global: { r: 0, t: 60 } });
  });

  it('limits per route with a route-scoped policy, sharing the client key', async () => {
    const scoped = makeApp({
      global: { name: 'per-route', policies: [{ limit: 1, windowMs: 60_000, scope: 'route' }] },
    });
    await request(scoped).get('/status/200').expect(200);
    await request(scoped).get('/ok').expect(200);
    await request(scoped).get('/ok').expect(429);
    await request(scoped).get('/status/200').expect(429);
  });

  it('passes an error from a key generator to the framework (500), never a hang', async () => {
    const app = makeApp({
      global: perMinute(1, {
        keyGenerator: () => {
          throw new Error('no key today');
        },
      }),
    });
    const res = await request(app).get('/ok').expect(500);
    expect(res.body.error).toBe('no key today');
    const empty = await request(makeApp({ global: perMinute(1, { keyGenerator: () => '' }) }))
      .get('/ok')
      .expect(500);
    expect(empty.body.code).toBe('KEEL_ERR_RATE_LIMIT_BAD_VALUE');
  });

  it('emits allowed and limited events, and the window resets with the clock', async () => {
    const seen: KeelEvent[] = [];
    const clock = createManualClock();
    const app = makeApp({
      global: perMinute(1, {
        store: createMemoryStore({ clock }),
        events: createEvents((e) => seen.push(e)),
        windowMs: 1000,
      }),
    });
    await request(app).get('/ok').expect(200);
    await request(app).get('/ok').expect(429);
    clock.advance(1000);
    await request(app).get('/ok').expect(200);
    expect(seen.map((e) => e.name)).toEqual([
      'rate-limit.allowed',
      'rate-limit.limited',
      'rate-limit.allowed',
    ]);
    expect(seen[1]!.attributes).toMatchObject({
      limiter: 'global',
      policies: ['global'],
      source: 'store',
    });
  });
});
