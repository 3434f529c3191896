/**
 * The RateLimit header serializers: each format version, Structured Field conformance (parsed
 * back with the `structured-headers` package), Retry-After never earlier than `t`.
 */
import { type PolicyState, renderHeaders, sfString } from '@keel/rate-limit';
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

  it('serialises sf-strings with escapes, and refuses what is not printable ASCII', () => {
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(parseItem(sfString('a"b\\c'))[0]).toBe('a"b\\c');
    expect(() => sfString('é')).toThrow(TypeError);
    expect(() => sfString('a\nb')).toThrow(TypeError);
  });
});
