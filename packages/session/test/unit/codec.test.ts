import { randomBytes } from 'node:crypto';
import { createCodec } from '@keel/session';
import { describe, expect, it } from 'vitest';

const key = randomBytes(32);

describe('session codec', () => {
  it('writes plain JSON by default: connect-redis format, mergeable', () => {
    const codec = createCodec();
    expect(codec.mergeable).toBe(true);
    expect(codec.encode('id', { a: 1 })).toBe('{"a":1}');
    expect(codec.decode('id', Buffer.from('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
  });

  it('compresses only at or above the threshold', () => {
    const codec = createCodec({ compression: { thresholdBytes: 100 } });
    expect(codec.mergeable).toBe(false);
    expect(codec.encode('id', { a: 1 })).toBe('{"a":1}');
    const big = { text: 'abc'.repeat(200) };
    const encoded = codec.encode('id', big) as Buffer;
    expect(Buffer.isBuffer(encoded)).toBe(true);
    expect(encoded.length).toBeLessThan(100);
    expect(codec.decode('id', encoded)).toEqual({ ok: true, value: big });
  });

  it('encrypts with the current key, names it, and rejects tampering', () => {
    const codec = createCodec({ encryption: { keys: { k1: key }, currentKeyId: 'k1' } });
    const sealed = codec.encode('sid', { secret: 'x' }) as Buffer;
    expect(sealed.includes(Buffer.from('secret'))).toBe(false);
    expect(sealed.includes(Buffer.from('k1'))).toBe(true);
    expect(codec.decode('sid', sealed)).toEqual({ ok: true, value: { secret: 'x' } });
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(codec.decode('sid', tampered)).toEqual({ ok: false, reason: 'decrypt' });
    expect(codec.decode('other', sealed)).toEqual({ ok: false, reason: 'decrypt' });
    expect(codec.decode('sid', sealed.subarray(0, 10))).toEqual({ ok: false, reason: 'format' });
  });

  it('accepts keys as Buffer, base64, base64url and hex; refuses anything else', () => {
    for (const raw of [
      key,
      key.toString('base64'),
      key.toString('base64url'),
      key.toString('hex'),
    ]) {
      expect(() =>
        createCodec({ encryption: { keys: { k: raw }, currentKeyId: 'k' } }),
      ).not.toThrow();
    }
    expect(() => createCodec({ encryption: { keys: { k: 'short' }, currentKeyId: 'k' } })).toThrow(
      /32 bytes/,
    );
    expect(() => createCodec({ encryption: { keys: { k: key }, currentKeyId: 'nope' } })).toThrow(
      /currentKeyId/,
    );
    expect(() => createCodec({ compression: { thresholdBytes: -1 } })).toThrow(/thresholdBytes/);
  });

  it('uses a custom serializer (connect-redis contract) without the Lua merge', () => {
    const serializer = {
      stringify: (value: unknown) => `x${JSON.stringify(value)}`,
      parse: (text: string) => JSON.parse(text.slice(1)) as unknown,
    };
    const codec = createCodec({ serializer });
    expect(codec.mergeable).toBe(false);
    expect(codec.encode('id', { a: 1 })).toBe('x{"a":1}');
    expect(codec.decode('id', Buffer.from('x{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
  });
});
