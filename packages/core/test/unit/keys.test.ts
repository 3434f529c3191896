import { describe, expect, it } from 'vitest';
import {
  canonicalQuery,
  createKeyspace,
  hashKeyPart,
  KeelOptionError,
  validatePrefix,
} from '../../src/index.js';

describe('keys', () => {
  it('puts every key of one id under one hash tag', () => {
    const ks = createKeyspace('keel:', 'rl');
    const a = ks.key('user-1', 'fixed');
    const b = ks.key('user-1', 'gcra', '2');
    const tag = ks.tag('user-1');
    expect(a).toBe(`keel:rl:${tag}:fixed`);
    expect(b).toBe(`keel:rl:${tag}:gcra:2`);
    expect(ks.key('user-1')).toBe(`keel:rl:${tag}`);
  });

  it('hashes user text so braces cannot choose a slot and sizes stay bounded', () => {
    const ks = createKeyspace('keel:', 'idem');
    const key = ks.key('{evil}x'.repeat(10_000));
    expect(key).toMatch(/^keel:idem:\{[A-Za-z0-9_-]{22}\}$/);
    expect(key.match(/\{/g)).toHaveLength(1);
    expect(hashKeyPart('a')).not.toBe(hashKeyPart('b'));
    expect(hashKeyPart('a')).toBe(hashKeyPart('a'));
  });

  it('refuses prefixes with braces or odd characters', () => {
    expect(() => validatePrefix('keel:{x}:')).toThrow(KeelOptionError);
    expect(() => validatePrefix('has space')).toThrow(/no braces/);
    expect(() => createKeyspace('a{b', 'rl')).toThrow(KeelOptionError);
    expect(validatePrefix('')).toBe('');
    expect(validatePrefix('app.v2:')).toBe('app.v2:');
  });
});

describe('canonicalQuery', () => {
  it('sorts by name then value and re-encodes', () => {
    expect(canonicalQuery('b=2&a=1&a=0')).toBe('a=0&a=1&b=2');
    expect(canonicalQuery('q=a%20b&x=%7B')).toBe('q=a+b&x=%7B');
    expect(canonicalQuery('')).toBe('');
  });

  it('keeps repeated values in the order sent when asked, still sorting by name', () => {
    expect(canonicalQuery('b=1&a=2&a=1', { keepValueOrder: true })).toBe('a=2&a=1&b=1');
    expect(canonicalQuery('a=2&b=1&a=1', { keepValueOrder: true })).toBe('a=2&a=1&b=1');
    expect(canonicalQuery('a=2&a=1')).toBe('a=1&a=2');
  });

  it('keeps or drops parameters by name', () => {
    expect(canonicalQuery('utm_source=x&page=2', { drop: ['utm_source'] })).toBe('page=2');
    expect(canonicalQuery('page=2&sort=asc&z=1', { keep: ['page', 'sort'] })).toBe(
      'page=2&sort=asc',
    );
  });
});
