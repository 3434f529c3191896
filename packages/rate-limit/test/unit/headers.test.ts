/**
 * The RateLimit header serializers: each format version, Structured Field conformance (parsed
 * back with the `structured-headers` package), Retry-After never earlier than `t`, the quota
 * and window advertised for buckets and for windows that are not whole seconds (issue 12),
 * and no retry promise for a request that can never pass.
 */
import {
  advertisedQuota,
  type PolicyState,
  RETRY_NEVER,
  renderHeaders,
  sfString,
} from '@keel/rate-limit';
import fc from 'fast-check';
import { parseItem, parseList } from 'structured-headers';
import { describe, expect, it } from 'vitest';

const state = (over: Partial<PolicyState> = {}): PolicyState => ({
  name: 'api',
  limit: 100,
  windowMs: 60_000,
  remaining: 42,
  resetMs: 30_500,
  retryAfterMs: 0,
  violated: false,
  ...over,
});

describe('RateLimit headers', () => {
  it('draft-10: one list item per policy, in both fields', () => {
    const h = renderHeaders(
      [state(), state({ name: 'burst', limit: 10, windowMs: 1000, remaining: 0, resetMs: 250 })],
      { standard: 'draft-10', legacy: false },
      undefined,
      0,
    );
    expect(h).toEqual({
      'ratelimit-policy': '"api";q=100;w=60, "burst";q=10;w=1',
      ratelimit: '"api";r=42;t=31, "burst";r=0;t=1',
    });
  });

  it('draft-7, draft-6 and legacy show the most restrictive policy', () => {
    const list = [state(), state({ name: 'b', limit: 10, remaining: 3, resetMs: 5000 })];
    expect(renderHeaders(list, { standard: 'draft-7', legacy: false }, undefined, 0)).toEqual({
      ratelimit: 'limit=10, remaining=3, reset=5',
      'ratelimit-policy': '10;w=60',
    });
    expect(
      renderHeaders(list, { standard: 'draft-6', legacy: true }, undefined, 1_000_000),
    ).toEqual({
      'ratelimit-policy': '10;w=60',
      'ratelimit-limit': '10',
      'ratelimit-remaining': '3',
      'ratelimit-reset': '5',
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '3',
      'x-ratelimit-reset': '1005',
    });
  });

  it('on a rejection, t of a violated policy is its retry time and Retry-After the longest', () => {
    const h = renderHeaders(
      [
        state({ violated: true, remaining: 0, retryAfterMs: 1200, resetMs: 9000 }),
        state({ name: 'b', violated: true, retryAfterMs: 4001 }),
      ],
      { standard: 'draft-10', legacy: false },
      4001,
      0,
    );
    expect(h.ratelimit).toBe('"api";r=0;t=2, "b";r=42;t=5');
    expect(h['retry-after']).toBe('5');
  });

  it('always parses as RFC 9651 lists, with Retry-After >= every violated t', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
            limit: fc.integer({ min: 1, max: 1e9 }),
            windowMs: fc.integer({ min: 1, max: 1e10 }),
            remaining: fc.integer({ min: 0, max: 1e9 }),
            resetMs: fc.integer({ min: 0, max: 1e10 }),
            retryAfterMs: fc.integer({ min: 1, max: 1e10 }),
            violated: fc.boolean(),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (list) => {
          const violated = list.filter((p) => p.violated);
          const retry = violated.length
            ? Math.max(...violated.map((p) => p.retryAfterMs))
            : undefined;
          const h = renderHeaders(list, { standard: 'draft-10', legacy: false }, retry, 0);
          const items = parseList(h.ratelimit as string);
          expect(items.map(([name]) => name)).toEqual(list.map((p) => p.name));
          parseList(h['ratelimit-policy'] as string);
          if (retry !== undefined) {
            const retryAfter = Number(h['retry-after']);
            items.forEach(([, params], i) => {
              if (list[i]!.violated)
                expect(retryAfter).toBeGreaterThanOrEqual(params.get('t') as number);
            });
          }
        },
      ),
    );
  });

  it('a bucket advertises the capacity r counts down from, over the time it takes to refill', () => {
    // 1 per second, bursts of 5: r starts at 5, so q is 5, and 5 per 5 s is the true rate.
    const bucket = state({ limit: 1, windowMs: 1000, burst: 5, remaining: 5 });
    const draft10 = { standard: 'draft-10', legacy: true } as const;
    const h = renderHeaders([bucket], draft10, undefined, 0);
    expect(h['ratelimit-policy']).toBe('"api";q=5;w=5');
    expect(h['x-ratelimit-limit']).toBe('5');
    expect(
      renderHeaders([bucket], { standard: 'draft-7', legacy: false }, undefined, 0),
    ).toMatchObject({ 'ratelimit-policy': '5;w=5', ratelimit: 'limit=5, remaining=5, reset=31' });
    expect(advertisedQuota({ limit: 10, windowMs: 1000, burst: 20 })).toEqual({
      quota: 20,
      windowSeconds: 2,
    });
  });

  it.each([
    // [limit, windowMs, burst, q, w]: the old w=ceil(windowMs/1000) claimed 2/s for 2 per 500 ms.
    [2, 500, 2, 4, 1],
    [2, 100, 2, 20, 1],
    [10, 1500, 10, 20, 3],
    [7, 333, 7, 21, 1],
    [3, 1000, 5, 6, 2],
    [100, 60_000, 100, 100, 60],
  ])('%i per %i ms (burst %i) is advertised as q=%i;w=%i', (limit, windowMs, burst, q, w) => {
    expect(advertisedQuota({ limit, windowMs, burst })).toEqual({ quota: q, windowSeconds: w });
  });

  it('q;w never claims more than the true rate, nor less than r can be', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 0, max: 100 }),
        (limit, windowMs, extra) => {
          const burst = limit + extra;
          const { quota, windowSeconds } = advertisedQuota({ limit, windowMs, burst });
          expect(Number.isSafeInteger(quota) && Number.isSafeInteger(windowSeconds)).toBe(true);
          expect(windowSeconds).toBeGreaterThanOrEqual(1);
          // q / w <= limit / windowMs, in integers: never an invitation to be throttled.
          expect(BigInt(quota) * BigInt(windowMs)).toBeLessThanOrEqual(
            BigInt(limit) * BigInt(windowSeconds) * 1000n,
          );
          expect(quota).toBeGreaterThanOrEqual(burst);
        },
      ),
    );
  });

  it('a request that can never pass gets no Retry-After, and t is the reset, not "now"', () => {
    const never = state({ violated: true, remaining: 3, resetMs: 9000, retryAfterMs: RETRY_NEVER });
    const h = renderHeaders([never], { standard: 'draft-10', legacy: false }, undefined, 0);
    expect(h.ratelimit).toBe('"api";r=3;t=9');
    expect(h['retry-after']).toBeUndefined();
  });

  it('serialises sf-strings with escapes, and refuses what is not printable ASCII', () => {
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(parseItem(sfString('a"b\\c'))[0]).toBe('a"b\\c');
    expect(() => sfString('é')).toThrow(TypeError);
    expect(() => sfString('a\nb')).toThrow(TypeError);
  });
});
