/**
 * Issue 21 through HTTP, on Express and Koa, memory and Redis: a login limiter with
 * `blockDurationMs` blocks a client once it refuses it (429, Retry-After at the block's end, a
 * detail saying so), and the same limiter's key API sees and lifts the block the HTTP path set
 * (`peek`, `reset`) — one decision by key under both. Then the key API's own rules: arguments,
 * policies that need a request, stores without the optional methods, and the failure policy.
 */
import {
  createEvents,
  createManualClock,
  isKeelError,
  type KeelEvent,
  StoreUnavailableError,
} from '@keel/core';
import {
  createMemoryStore,
  createRateLimiter,
  createRedisStore,
  type RateLimitStore,
  RateLimitValueError,
} from '@keel/rate-limit';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createTestRedis, testPrefix } from '../support/index.js';
import { type AppFactory, expressApp, koaApp } from './apps.js';

const frameworks: [string, AppFactory][] = [
  ['express', expressApp],
  ['koa', koaApp],
];
const stores: [string, () => RateLimitStore][] = [
  ['memory', () => createMemoryStore()],
  // Not a deadline test: a loaded machine's slow call must not send a check to the fallback.
  [
    'redis',
    () => createRedisStore({ client: createTestRedis(), prefix: testPrefix(), deadlineMs: 2000 }),
  ],
];

describe.each(frameworks)('%s: blockDurationMs through HTTP (issue 21)', (_name, app) => {
  it.each(stores)(
    '%s: the refusal blocks the client, the key API sees and lifts it',
    async (_s, store) => {
      const seen: KeelEvent[] = [];
      const login = createRateLimiter({
        name: 'login',
        store: store(),
        events: createEvents((e) => seen.push(e)),
        keyGenerator: (req) => String(req.headers['x-user'] ?? 'anon'),
        policies: [{ limit: 2, windowMs: 60_000, blockDurationMs: 900_000 }],
      });
      const server = app({ login });
      const attempt = (user: string) => request(server).post('/login?fail=1').set('x-user', user);
      expect((await attempt('mallory')).status).toBe(401);
      expect((await attempt('mallory')).status).toBe(401);
      const blocked = await attempt('mallory');
      expect(blocked.status).toBe(429);
      expect(blocked.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(blocked.headers['retry-after']).toBe('900');
      expect(blocked.body).toMatchObject({
        code: 'KEEL_ERR_RATE_LIMITED',
        'violated-policies': ['login'],
      });
      expect(blocked.body.detail).toMatch(/blocked this client/);
      expect(seen.filter((e) => e.name === 'rate-limit.blocked')).toHaveLength(1);
      // Still blocked later, by the deny cache or the store; another user is not.
      expect((await attempt('mallory')).status).toBe(429);
      expect((await attempt('alice')).status).toBe(401);
      expect(await login.peek('mallory')).toMatchObject({ allowed: false, reason: 'blocked' });
      await login.reset('mallory');
      expect((await attempt('mallory')).status).toBe(401);
    },
  );
});

describe('the key API: arguments, policies and stores it refuses, with coded errors', () => {
  const limiter = () => createRateLimiter({ name: 'keys', limit: 3, windowMs: 1000 });

  it('refuses empty keys, costs and units out of range', async () => {
    const l = limiter();
    for (const call of [
      () => l.consume(''),
      () => l.consume('k', { cost: 0 }),
      () => l.consume('k', { cost: 1.5 }),
      () => l.peek('k', { cost: -1 }),
      () => l.penalize('k', 0),
      () => l.reward('k', 1e16),
      () => l.block('k', 0),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitValueError);
      expect((error as Error).message).toMatch(/takes/);
    }
    expect((await l.peek('k', { cost: 0 })).allowed).toBe(true);
  });

  it('names the policy that needs a request; reset still works', async () => {
    const l = createRateLimiter({
      name: 'scoped',
      policies: [{ limit: 3, windowMs: 1000, scope: 'route' }],
    });
    const error = await l.consume('k').catch((e: unknown) => e);
    expect(isKeelError(error) && error.code).toBe('KEEL_ERR_INVALID_OPTION');
    expect((error as Error).message).toMatch(/policy "scoped", which has a scope/);
    await l.reset('k');
  });

  it('says which method a store without adjust() or block() lacks', async () => {
    const memory = createMemoryStore();
    const bare: RateLimitStore = {
      kind: 'custom',
      localKeys: true,
      check: (c) => memory.check(c),
      refund: (r) => memory.refund(r),
      reset: (r) => memory.reset(r),
    };
    const l = createRateLimiter({ name: 'bare', store: bare, limit: 3, windowMs: 1000 });
    await expect(l.penalize('k', 1)).rejects.toThrow(/"custom" store has no adjust\(\)/);
    await expect(l.block('k', 1000)).rejects.toThrow(/"custom" store has no block\(\)/);
    expect((await l.consume('k')).allowed).toBe(true);
  });

  it('validates blockDurationMs at construction', () => {
    expect(() =>
      createRateLimiter({ policies: [{ limit: 1, windowMs: 1000, blockDurationMs: -1 }] }),
    ).toThrow(/option "blockDurationMs" must be an integer/);
  });

  it('applies the failure policy to consume and peek, and rejects admin calls, with events', async () => {
    const failing: RateLimitStore = {
      kind: 'redis',
      localKeys: false,
      check: () => Promise.reject(new StoreUnavailableError('check', 'down')),
      refund: () => Promise.resolve(),
      reset: () => Promise.reject(new StoreUnavailableError('reset', 'down')),
      adjust: () => Promise.reject(new StoreUnavailableError('adjust', 'down')),
      block: () => Promise.reject(new StoreUnavailableError('block', 'down')),
    };
    const seen: KeelEvent[] = [];
    const make = (failurePolicy: 'open' | 'closed' | 'fallback') =>
      createRateLimiter({
        name: `f-${failurePolicy}`,
        store: failing,
        failurePolicy,
        limit: 1,
        windowMs: 60_000,
        clock: createManualClock(),
        events: createEvents((e) => seen.push(e)),
      });
    expect(await make('closed').consume('k')).toMatchObject({
      allowed: false,
      reason: 'store-unavailable',
      source: 'failure-policy',
      retryAfterMs: 1000,
    });
    expect(await make('open').peek('k')).toMatchObject({
      allowed: true,
      reason: 'store-unavailable',
    });
    const fallback = make('fallback');
    expect(await fallback.consume('k')).toMatchObject({ allowed: true, source: 'fallback' });
    expect(await fallback.consume('k')).toMatchObject({ allowed: false, source: 'fallback' });
    await expect(fallback.penalize('k', 1)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(fallback.block('k', 1000)).rejects.toBeInstanceOf(StoreUnavailableError);
    const operations = seen
      .filter((e) => e.name === 'rate-limit.store-failure')
      .map((e) => e.attributes.operation);
    expect(operations).toEqual(['check', 'peek', 'check', 'check', 'penalize', 'block']);
  });
});
