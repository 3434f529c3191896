import fc from 'fast-check';
import { parseItem } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { parseIdempotencyKey } from '../../src/index.js';

const strict = { maxKeyLength: 255, acceptUnquotedKeys: false };
const lenient = { maxKeyLength: 255, acceptUnquotedKeys: true };

describe('parseIdempotencyKey', () => {
  it('reads a structured-field string, unescaping it and ignoring parameters', () => {
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8"', strict)).toEqual({
      ok: true,
      key: '8e03978e-40d5-43e8',
    });
    expect(parseIdempotencyKey('  "a\\"b\\\\c"  ', strict)).toEqual({ ok: true, key: 'a"b\\c' });
    expect(parseIdempotencyKey('"k";v=1', strict)).toEqual({ ok: true, key: 'k' });
    expect(parseIdempotencyKey('"with inner space"', strict)).toEqual({
      ok: true,
      key: 'with inner space',
    });
  });

  it.each([
    ['an unquoted token', 'abc-123', /quoted string/],
    ['a number', '12', /quoted string/],
    ['an empty string', '""', /empty/],
    ['two keys (repeated header)', '"a", "b"', /one structured-field string/],
    ['an unterminated string', '"abc', /one structured-field string/],
    ['non-ASCII', '"é"', /one structured-field string/],
    ['a byte sequence', ':YWJj:', /quoted string/],
    ['edge spaces', '" padded "', /start or end with a space/],
  ])('rejects %s', (_what, value, reason) => {
    const parsed = parseIdempotencyKey(value, strict);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it('enforces the length limit', () => {
    expect(parseIdempotencyKey(`"${'k'.repeat(255)}"`, strict).ok).toBe(true);
    const parsed = parseIdempotencyKey(`"${'k'.repeat(256)}"`, strict);
    expect(parsed).toEqual({
      ok: false,
      reason: 'The Idempotency-Key is 256 characters long; at most 255 are accepted.',
    });
  });

  it('accepts a bare key only when allowed, and only of safe characters', () => {
    expect(parseIdempotencyKey('abc-123', lenient)).toEqual({ ok: true, key: 'abc-123' });
    expect(parseIdempotencyKey('order:42/retry=1', lenient)).toEqual({
      ok: true,
      key: 'order:42/retry=1',
    });
    expect(parseIdempotencyKey('a b', lenient).ok).toBe(false);
    expect(parseIdempotencyKey('a,b', lenient).ok).toBe(false);
    // The suggestion in the message shows the quoted form of the key that was sent.
    const parsed = parseIdempotencyKey('abc-123', strict);
    expect(!parsed.ok && parsed.reason).toContain('Idempotency-Key: "abc-123"');
  });

  it('reads any header value exactly as the structured-field parser does', () => {
    // Quoted values with and without escapes, parameters, junk: the fast path for plain strings
    // must agree with the general parser on every one of them.
    const char = fc.constantFrom(' ', '!', '"', '\\', 'a', 'Z', '0', '~', ';', '=', ',', 'é', '\t');
    const text = fc.array(char, { maxLength: 12 }).map((chars) => chars.join(''));
    const value = fc.oneof(
      text.map((t) => `"${t}"`),
      fc.tuple(text, text).map(([a, b]) => `"${a}"${b}`),
      text,
    );
    fc.assert(
      fc.property(value, (header) => {
        const parsed = parseIdempotencyKey(header, {
          maxKeyLength: 8192,
          acceptUnquotedKeys: false,
        });
        let expected: string | undefined;
        try {
          const [item] = parseItem(header.trim());
          if (typeof item === 'string') expected = item;
        } catch {
          expected = undefined;
        }
        if (parsed.ok) expect(parsed.key).toBe(expected);
        else if (expected !== undefined) expect(parsed.reason).toMatch(/empty|space|printable/);
      }),
      { numRuns: 1000 },
    );
  });
});
