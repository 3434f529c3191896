/**
 * Issue 12's header details over HTTP, both frameworks, on the Redis store (the Lua twin):
 *
 * - a request whose cost exceeds what a policy can ever grant gets a 413 problem of its own
 *   type, with no `Retry-After` (no promise that cannot be kept), for every algorithm; the
 *   deny cache never answers it with a 429;
 * - a bucket with `burst > limit` advertises `q` = the capacity `r` counts down from;
 * - a window that is not a whole number of seconds is advertised at its true rate.
 */
import type { KeelRequest } from '@keel/core';
import {
  ALGORITHM_NAMES,
  codes,
  createRedisStore,
  QUOTA_EXCEEDED_TYPE,
  type RateLimiterOptions,
} from '@keel/rate-limit';
import { parseList } from 'structured-headers';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { frameworks } from './apps.js';

const client = createTestRedis();
const prefix = testPrefix();
afterAll(() => cleanupPrefix(client, prefix));

const costOf = (req: KeelRequest) => Number(req.headers['x-cost'] ?? '1');

function limiter(name: string, extra: Partial<RateLimiterOptions>): RateLimiterOptions {
  return {
    name,
    store: createRedisStore({ client, prefix, deadlineMs: 2000 }),
    limit: 3,
    windowMs: 60_000,
    keyGenerator: () => `client-${name}`,
    cost: costOf,
    ...extra,
  } as RateLimiterOptions;
}

describe.each(frameworks)('issue 12 headers on %s', (framework, makeApp) => {
  it.each(ALGORITHM_NAMES)(
    '%s: a cost above the limit is a 413 that promises no retry, and charges nothing',
    async (algorithm) => {
      const app = makeApp({ global: limiter(`cost-${framework}-${algorithm}`, { algorithm }) });
      const res = await request(app).get('/ok').set('x-cost', '4').expect(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBeUndefined();
      expect(res.body).toMatchObject({
        type: 'urn:keel:problem:rate-limit-cost-exceeds-limit',
        status: 413,
        code: codes.RATE_LIMIT_COST_EXCEEDS_LIMIT,
        cost: 4,
        'max-cost': 3,
      });
      // The quota is still whole: the refusal charged nothing, and the headers say so.
      const [[, params]] = parseList(res.headers.ratelimit as string) as [
        [unknown, Map<string, number>],
      ];
      expect(params.get('r')).toBe(3);
      await request(app).get('/ok').set('x-cost', '3').expect(200);
    },
  );

  it('after a 429 is deny-cached, a cost above the limit still gets its 413', async () => {
    const app = makeApp({
      global: limiter(`deny-${framework}`, { algorithm: 'fixed-window' }),
    });
    await request(app).get('/ok').set('x-cost', '3').expect(200);
    const limited = await request(app).get('/ok').expect(429);
    expect(limited.body.type).toBe(QUOTA_EXCEEDED_TYPE);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const never = await request(app).get('/ok').set('x-cost', '4').expect(413);
    expect(never.headers['retry-after']).toBeUndefined();
  });

  it.each(['token-bucket', 'gcra'] as const)(
    '%s with burst > limit advertises the capacity r counts down from',
    async (algorithm) => {
      const app = makeApp({
        global: limiter(`burst-${framework}-${algorithm}`, {
          algorithm,
          limit: 1,
          windowMs: 1000,
          burst: 5,
        }),
      });
      const res = await request(app).get('/ok').expect(200);
      // 1 per second with bursts of 5: q=5 over the 5 s a refill from empty takes.
      expect(res.headers['ratelimit-policy']).toBe(`"burst-${framework}-${algorithm}";q=5;w=5`);
      expect(res.headers.ratelimit).toMatch(/;r=4;/);
    },
  );

  it('a 500 ms window is advertised at its true rate, not as one per second', async () => {
    const app = makeApp({
      global: limiter(`sub-${framework}`, { algorithm: 'sliding-window', limit: 2, windowMs: 500 }),
    });
    const res = await request(app).get('/ok').expect(200);
    expect(res.headers['ratelimit-policy']).toBe(`"sub-${framework}";q=4;w=1`);
  });
});
