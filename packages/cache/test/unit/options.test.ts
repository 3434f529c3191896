import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CacheKeyError,
  CacheTagError,
  CacheValueError,
  codes,
  createCache,
  createResponseCache,
  SharedFillFailedError,
} from '../../src/index.js';

describe('options and errors', () => {
  it('rejects bad options at construction, naming them', () => {
    expect(() => createCache({ ttlMs: -1 })).toThrow(/createCache: option "ttlMs"/);
    expect(() => createCache({ l1: true })).toThrow(/option "l1"/);
    expect(() => createCache({ ttlMS: 5 } as never)).toThrow(/did you mean "ttlMs"/);
    expect(() => createResponseCache({ credentials: 'partition' })).toThrow(/option "partition"/);
    expect(() => createResponseCache({ statuses: [99] })).toThrow(/option "statuses"/);
    expect(() => createResponseCache({ cache: {} as never })).toThrow(/option "cache"/);
  });

  it('throws coded errors for programming mistakes', async () => {
    const cache = createCache();
    await expect(cache.wrap('', async () => 1)).rejects.toBeInstanceOf(CacheKeyError);
    await expect(cache.wrap('k', async () => 1, { tags: [''] })).rejects.toBeInstanceOf(
      CacheTagError,
    );
    await expect(cache.set('k', 10n)).rejects.toBeInstanceOf(CacheValueError);
  });

  it('keeps the error registry, the classes and the README in step', () => {
    const made = [
      new CacheKeyError('x'),
      new CacheTagError('x'),
      new CacheValueError('k', new Error('x')),
      new SharedFillFailedError(),
    ].map((e) => e.code);
    expect(new Set(made)).toEqual(new Set(Object.values(codes)));
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const code of Object.values(codes)) expect(readme).toContain(code);
  });
});
