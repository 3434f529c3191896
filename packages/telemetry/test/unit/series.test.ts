import { OVERFLOW_LABEL_VALUE, SeriesCache } from '@keel/telemetry';
import { describe, expect, it } from 'vitest';

describe('SeriesCache', () => {
  it('creates one series per label tuple and reuses it', () => {
    const created: string[][] = [];
    const cache = new SeriesCache((values) => {
      created.push([...values]);
      return values.join('/');
    });
    expect(cache.get(['a', 'b'])).toBe('a/b');
    expect(cache.get(['a', 'b'])).toBe('a/b');
    expect(cache.get(['a', 'c'])).toBe('a/c');
    // A tuple is not confused with another that joins to the same text.
    expect(cache.get(['a/b'])).toBe('a/b');
    expect(created).toEqual([['a', 'b'], ['a', 'c'], ['a/b']]);
    expect(cache.size).toBe(3);
  });

  it('records tuples past the limit on one overflow series', () => {
    const cache = new SeriesCache((values) => values.join(','), 2);
    cache.get(['limiter-1', 'allowed']);
    cache.get(['limiter-2', 'allowed']);
    const overflow = `${OVERFLOW_LABEL_VALUE},${OVERFLOW_LABEL_VALUE}`;
    expect(cache.get(['limiter-3', 'allowed'])).toBe(overflow);
    expect(cache.get(['limiter-4', 'limited'])).toBe(overflow);
    expect(cache.get(['limiter-1', 'allowed'])).toBe('limiter-1,allowed');
    expect(cache.size).toBe(2);
  });
});
