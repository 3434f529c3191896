/**
 * Misconfiguration is caught at construction, with a message naming the option; risky but
 * legal setups warn once.
 */
import { createEvents, type KeelEvent, KeelOptionError } from '@keel/core';
import {
  createMemoryStore,
  createRateLimiter,
  createRedisStore,
  type RateLimiterOptions,
} from '@keel/rate-limit';
import { describe, expect, it } from 'vitest';
import { createTestRedis } from '../../../../test/support/index.js';

function error(options: RateLimiterOptions): KeelOptionError {
  try {
    createRateLimiter(options);
  } catch (e) {
    expect(e).toBeInstanceOf(KeelOptionError);
    return e as KeelOptionError;
  }
  throw new Error('expected createRateLimiter to throw');
}

describe('rate limiter options', () => {
  it.each([
    [{ limit: 0, windowMs: 1000 }, 'rateLimit.limit', /integer >= 1/],
    [{ limit: -5, windowMs: 1000 }, 'rateLimit.limit', /got -5/],
    [{ limit: 1.5, windowMs: 1000 }, 'rateLimit.limit', /integer/],
    [{ limit: 10, windowMs: 0 }, 'rateLimit.windowMs', /milliseconds/],
    [{ limit: 10 }, 'rateLimit.windowMs', /got undefined/],
    [{ windowMs: 1000 }, 'rateLimit.limit', /got undefined/],
    [
      { limit: 10, windowMs: 1000, algorithm: 'leaky' as never },
      'rateLimit.algorithm',
      /one of "fixed-window"/,
    ],
    [{ limit: 10, windowMs: 1000, burst: 20 }, 'rateLimit.burst', /bucket capacity/],
    [{ limit: 10, windowMs: 1000, algorithm: 'gcra', burst: 0 }, 'rateLimit.burst', /integer >= 1/],
    [
      { limit: 200_000, windowMs: 1000, algorithm: 'sliding-log' },
      'rateLimit.limit',
      /sliding-window/,
    ],
    [{ limit: 10_000_000, windowMs: 1_000_000_000 }, 'rateLimit.limit', /exact/],
    [{ limit: 10, windowMs: 1000, cost: 0 }, 'rateLimit.cost', /integer >= 1/],
    [{ limit: 10, windowMs: 1000, name: 'has space' }, 'rateLimit.name', /letters, digits/],
    [{ limit: 10, windowMs: 1000, name: '{tag}' }, 'rateLimit.name', /letters, digits/],
    [
      { limit: 10, windowMs: 1000, failurePolicy: 'retry' as never },
      'rateLimit.failurePolicy',
      /"open", "closed", "fallback"/,
    ],
    [
      { limit: 10, windowMs: 1000, standardHeaders: 'draft-8' as never },
      'rateLimit.standardHeaders',
      /"draft-10"/,
    ],
    [
      { limit: 10, windowMs: 1000, keyGenerator: () => 'k', identity: { trustProxy: 1 } },
      'rateLimit.identity',
      /keyGenerator/,
    ],
    [{ limit: 10, windowMs: 1000, allowList: 'me' as never }, 'rateLimit.allowList', /array/],
    [
      { limit: 10, windowMs: 1000, denyCache: { maxEntries: 0 } },
      'rateLimit.denyCache.maxEntries',
      /integer >= 1/,
    ],
  ] as [RateLimiterOptions, string, RegExp][])('%o → %s', (options, option, message) => {
    const e = error(options);
    expect(e.option).toBe(option);
    expect(e.message).toMatch(message);
    expect(e.code).toBe('KEEL_ERR_INVALID_OPTION');
  });

  it('rejects unknown options and suggests the known one', () => {
    const e = error({ limit: 1, windowMs: 1, windowMS: 1000 } as RateLimiterOptions);
    expect(e.message).toMatch(/unknown option "windowMS" \(did you mean "windowMs"\?\)/);
  });

  it('checks every policy of a list, naming it', () => {
    const e = error({
      policies: [
        { limit: 1, windowMs: 1000 },
        { limit: 1, windowMs: -1 },
      ],
    });
    expect(e.option).toBe('rateLimit.policies[1].windowMs');
    expect(error({ policies: [] }).option).toBe('rateLimit.policies');
    const dup = error({
      policies: [
        { name: 'a', limit: 1, windowMs: 1 },
        { name: 'a', limit: 2, windowMs: 2 },
      ],
    });
    expect(dup.message).toMatch(/unique within the limiter/);
    expect(error({ policies: [{ limit: 1, windowMs: 1, extra: 1 } as never] }).message).toMatch(
      /unknown option "extra"/,
    );
  });

  it('refuses a shorthand option next to policies', () => {
    expect(error({ limit: 5, policies: [{ limit: 1, windowMs: 1 }] }).option).toBe(
      'rateLimit.limit',
    );
  });

  it('names default policies after the limiter and their window', () => {
    const limiter = createRateLimiter({
      name: 'api',
      policies: [
        { limit: 10, windowMs: 1000 },
        { limit: 1000, windowMs: 3_600_000 },
        { limit: 5, windowMs: 1500 },
      ],
    });
    expect(limiter.name).toBe('api');
    return limiter
      .check({
        method: 'GET',
        path: '/',
        route: undefined,
        search: '',
        headers: {},
        remoteAddress: '192.0.2.1',
        body: undefined,
        rawBody: undefined,
        bodyParsed: false,
        raw: {},
      })
      .then((d) =>
        expect(d.policies.map((p) => p.name)).toEqual(['api-1s', 'api-1h', 'api-1500ms']),
      );
  });

  it('validates the stores', () => {
    expect(() => createMemoryStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createRedisStore({ client: {} as never })).toThrow(
      /ioredis or iovalkey Redis or Cluster/,
    );
    // A real client that never connects: the prefix is refused before any command.
    const client = createTestRedis({ lazyConnect: true });
    expect(() => createRedisStore({ client, prefix: 'a{b}' })).toThrow(/braces/);
  });

  it('warns once when two limiters with one name share a store', () => {
    const seen: KeelEvent[] = [];
    const events = createEvents((e) => seen.push(e));
    const store = createMemoryStore();
    const quiet = { store, limit: 1, windowMs: 1000, events };
    const logs: string[] = [];
    const original = console.warn;
    console.warn = (m: string) => logs.push(m);
    try {
      createRateLimiter({ ...quiet, name: 'a' });
      createRateLimiter({ ...quiet, name: 'b' });
      expect(seen).toHaveLength(0);
      createRateLimiter({ ...quiet, name: 'a' });
      createRateLimiter({ ...quiet, name: 'a', warnings: { sharedStore: false } });
    } finally {
      console.warn = original;
    }
    expect(seen.map((e) => e.attributes)).toEqual([
      { warning: 'sharedStore', message: expect.stringMatching(/two limiters named "a"/) },
    ]);
    expect(logs).toHaveLength(1);
  });

  it('passes client identity warnings through (trusting every proxy)', () => {
    const seen: KeelEvent[] = [];
    const original = console.warn;
    console.warn = () => {};
    try {
      createRateLimiter({
        limit: 1,
        windowMs: 1000,
        identity: { trustProxy: true },
        events: (e) => seen.push(e),
      });
    } finally {
      console.warn = original;
    }
    expect(seen.map((e) => (e.attributes as { warning: string }).warning)).toEqual([
      'trustAllProxies',
    ]);
  });
});
