/**
 * The limiter's own behaviour, framework-free: refunds through the decision, dynamic limits,
 * a full memory store, key and value errors, and the errors registry.
 */
import {
  createEvents,
  createManualClock,
  isKeelError,
  type KeelEvent,
  type KeelRequest,
} from '@keel/core';
import {
  codes,
  createMemoryStore,
  createRateLimiter,
  RateLimitReplyError,
  RateLimitStoreFullError,
  RateLimitValueError,
  RETRY_NEVER,
} from '@keel/rate-limit';
import { describe, expect, it } from 'vitest';

const req = (address = '192.0.2.1', headers: Record<string, string> = {}): KeelRequest => ({
  method: 'GET',
  path: '/x',
  route: undefined,
  search: '',
  headers,
  remoteAddress: address,
  body: undefined,
  rawBody: undefined,
  bodyParsed: false,
  raw: {},
});

describe('createRateLimiter', () => {
  it('refund() gives the units back once, and only for a charged decision', async () => {
    const limiter = createRateLimiter({ limit: 2, windowMs: 60_000, algorithm: 'fixed-window' });
    const first = await limiter.check(req());
    await limiter.check(req());
    expect(await first.refund()).toBe(true);
    expect(await first.refund()).toBe(false);
    const third = await limiter.check(req());
    expect(third.allowed).toBe(true);
    const refused = await limiter.check(req());
    expect(refused.allowed).toBe(false);
    expect(await refused.refund()).toBe(false);
  });

  it('takes a dynamic limit per key (e.g. per plan)', async () => {
    const limiter = createRateLimiter({
      limit: (_req, key) => (key === '192.0.2.9' ? 3 : 1),
      windowMs: 60_000,
    });
    const count = async (address: string) => {
      let n = 0;
      while ((await limiter.check(req(address))).allowed) n++;
      return n;
    };
    expect(await count('192.0.2.9')).toBe(3);
    expect(await count('192.0.2.10')).toBe(1);
    const bad = createRateLimiter({ limit: () => 0, windowMs: 1000 });
    const error = await bad.check(req()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitValueError);
    expect((error as RateLimitValueError).option).toBe('limit');
  });

  it('a full memory store evicts the counter nearest to expiry, warns once, and keeps counting', async () => {
    const seen: KeelEvent[] = [];
    const clock = createManualClock(1_000_000);
    const store = createMemoryStore({ maxEntries: 2, clock, events: (e) => seen.push(e) });
    const limiter = createRateLimiter({ store, limit: 1, windowMs: 60_000, clock });
    const allowed = async (ip: string) => (await limiter.check(req(ip))).allowed;
    expect(await allowed('192.0.2.1')).toBe(true);
    clock.advance(1000);
    expect(await allowed('192.0.2.2')).toBe(true);
    clock.advance(1000);
    // A third client is counted: 192.0.2.1's counter, the nearest to expiry, makes room.
    expect(await allowed('192.0.2.3')).toBe(true);
    expect(await allowed('192.0.2.3')).toBe(false);
    expect(await allowed('192.0.2.2')).toBe(false);
    expect(store.size).toBe(2);
    expect(seen.filter((e) => e.name === 'rate-limit.evicted').map((e) => e.attributes)).toEqual([
      { store: 'memory', evicted: 1, maxEntries: 2, maxBytes: 64 * 1024 * 1024 },
    ]);
    // The evicted client starts afresh (its window would have ended first anyway).
    expect(await allowed('192.0.2.1')).toBe(true);
    const warnings = seen.filter((e) => e.name === 'keel.warning');
    expect(warnings.map((e) => e.attributes.warning)).toEqual(['memoryStoreFull']);
  });

  it('a check that needs more room than the whole memory store gets the failure policy', async () => {
    const store = createMemoryStore({ maxEntries: 2, warnings: false });
    const policies = ['a', 'b', 'c'].map((name) => ({ name, limit: 5, windowMs: 60_000 }));
    const open = createRateLimiter({ store, policies });
    const decision = await open.check(req('192.0.2.1'));
    expect(decision).toMatchObject({ allowed: true, reason: 'store-unavailable' });
    expect(decision.error).toBeInstanceOf(RateLimitStoreFullError);
    // All or nothing: no counter of the check was kept.
    expect(store.size).toBe(0);
    const closed = createRateLimiter({ name: 'closed', store, policies, failurePolicy: 'closed' });
    expect((await closed.check(req('192.0.2.4'))).response?.status).toBe(503);
  });

  it('reset(key) forgets a client', async () => {
    const limiter = createRateLimiter({ limit: 1, windowMs: 60_000 });
    await limiter.check(req());
    expect((await limiter.check(req())).allowed).toBe(false);
    await limiter.reset('192.0.2.1');
    expect((await limiter.check(req())).allowed).toBe(true);
  });

  it('a refused decision carries the problem response, headers and violated policies', async () => {
    const clock = createManualClock();
    const limiter = createRateLimiter({
      name: 'api',
      clock,
      policies: [
        { name: 'burst', limit: 1, windowMs: 1000, algorithm: 'gcra' },
        { name: 'daily', limit: 1000, windowMs: 86_400_000, algorithm: 'fixed-window' },
      ],
      events: createEvents(),
    });
    await limiter.check(req());
    const d = await limiter.check(req());
    expect(d).toMatchObject({
      allowed: false,
      reason: 'limited',
      violated: ['burst'],
      retryAfterMs: 1000,
    });
    expect(d.policies.map((p) => p.remaining)).toEqual([0, 999]);
    expect(d.headers['retry-after']).toBe('1');
    expect(d.response?.status).toBe(429);
    const body = JSON.parse(Buffer.from(d.response!.body).toString());
    expect(body).toMatchObject({ 'violated-policies': ['burst'], code: codes.RATE_LIMITED });
  });
});

describe('a cost above a policy capacity (issue 12)', () => {
  const limiter = () => {
    const seen: KeelEvent[] = [];
    const made = createRateLimiter({
      name: 'api',
      clock: createManualClock(),
      policies: [
        { name: 'burst', limit: 1, windowMs: 1000, burst: 3, algorithm: 'gcra' },
        { name: 'daily', limit: 1000, windowMs: 86_400_000, algorithm: 'fixed-window' },
      ],
      cost: (r) => Number(r.headers['x-cost'] ?? '1'),
      events: (e) => seen.push(e),
    });
    return { limiter: made, seen };
  };
  const costing = (units: number) => req('192.0.2.1', { 'x-cost': String(units) });

  it('is refused for good: 413 problem, no Retry-After, the largest cost that could pass', async () => {
    const { limiter: l, seen } = limiter();
    const d = await l.check(costing(4));
    expect(d).toMatchObject({
      allowed: false,
      reason: 'cost-exceeds-limit',
      violated: ['burst'],
      retryAfterMs: RETRY_NEVER,
    });
    expect(d.headers['retry-after']).toBeUndefined();
    expect(d.headers.ratelimit).toBe('"burst";r=3;t=0, "daily";r=1000;t=86400');
    expect(d.response?.status).toBe(413);
    expect(d.response?.headers['content-type']).toBe('application/problem+json');
    const body = JSON.parse(Buffer.from(d.response!.body).toString());
    expect(body).toMatchObject({
      type: 'urn:keel:problem:rate-limit-cost-exceeds-limit',
      status: 413,
      code: codes.RATE_LIMIT_COST_EXCEEDS_LIMIT,
      'violated-policies': ['burst'],
      cost: 4,
      'max-cost': 3,
    });
    expect(seen.find((e) => e.name === 'rate-limit.limited')?.attributes).toMatchObject({
      reason: 'cost-exceeds-limit',
      policies: ['burst'],
    });
    // Nothing was charged: the whole burst is still there.
    expect((await l.check(costing(3))).allowed).toBe(true);
  });

  it('stays "never" while another policy is merely limited, and "limited" is still 429', async () => {
    const { limiter: l } = limiter();
    expect((await l.check(costing(3))).allowed).toBe(true);
    const limited = await l.check(costing(1));
    expect(limited).toMatchObject({ reason: 'limited', retryAfterMs: 1000 });
    expect(limited.response?.status).toBe(429);
    const never = await l.check(costing(1001));
    expect(never).toMatchObject({ reason: 'cost-exceeds-limit', violated: ['burst', 'daily'] });
    expect(never.response?.status).toBe(413);
    const body = JSON.parse(Buffer.from(never.response!.body).toString());
    expect(body).toMatchObject({ 'violated-policies': ['burst', 'daily'], 'max-cost': 3 });
  });
});

describe('rate-limit errors', () => {
  it('every class carries a registered code, and survives isKeelError', () => {
    const errors = [
      new RateLimitStoreFullError(1, 65_536),
      new RateLimitReplyError([9]),
      new RateLimitValueError('cost', 'x'),
    ];
    const registered = new Set<string>(Object.values(codes));
    for (const e of errors) {
      expect(isKeelError(e)).toBe(true);
      expect(registered.has(e.code)).toBe(true);
      expect(e.name).toBe(e.constructor.name);
    }
    expect(Object.isFrozen(codes)).toBe(true);
    expect(new Set(Object.values(codes)).size).toBe(Object.values(codes).length);
  });
});
