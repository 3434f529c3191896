import type { KeelRequest } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { bodyForFingerprint, canonicalJson, defaultFingerprint } from '../../src/index.js';

function req(overrides: Partial<KeelRequest> = {}): KeelRequest {
  return {
    method: 'POST',
    path: '/orders',
    route: undefined,
    search: '',
    headers: { 'content-type': 'application/json' },
    remoteAddress: undefined,
    body: { a: 1 },
    rawBody: undefined,
    bodyParsed: true,
    raw: undefined,
    ...overrides,
  };
}

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('behaves like JSON.stringify otherwise', () => {
    expect(canonicalJson({ u: undefined, d: new Date(0), n: Number.NaN })).toBe(
      '{"d":"1970-01-01T00:00:00.000Z","n":null}',
    );
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson('text')).toBe('"text"');
  });

  it('keeps a parsed "__proto__" member as an ordinary member', () => {
    const parsed = JSON.parse('{"__proto__":{"admin":true},"a":1}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"admin":true},"a":1}');
    expect(canonicalJson(parsed)).not.toBe(canonicalJson({ a: 1 }));
  });
});

describe('defaultFingerprint', () => {
  const base = defaultFingerprint(req());

  it('is a base64url SHA-256', () => {
    expect(base).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('ignores JSON key order and query parameter order', () => {
    expect(defaultFingerprint(req({ body: { b: 2, a: 1 } }))).toBe(
      defaultFingerprint(req({ body: { a: 1, b: 2 } })),
    );
    expect(defaultFingerprint(req({ search: 'b=2&a=1' }))).toBe(
      defaultFingerprint(req({ search: 'a=1&b=2' })),
    );
  });

  it('changes with method, path, query, body and chosen headers', () => {
    const variants = [
      req({ method: 'PATCH' }),
      req({ path: '/orders/1' }),
      req({ search: 'a=1' }),
      req({ body: { a: 2 } }),
      req({ body: [{ a: 1 }] }),
    ];
    for (const variant of variants) expect(defaultFingerprint(variant)).not.toBe(base);
    const withHeader = (tenant: string) =>
      defaultFingerprint(req({ headers: { 'x-tenant': tenant } }), ['X-Tenant']);
    expect(withHeader('a')).not.toBe(withHeader('b'));
    // Unchosen headers do not count.
    expect(defaultFingerprint(req({ headers: { 'x-tenant': 'a' } }))).toBe(base);
  });

  it('cannot be confused by moving bytes between parts', () => {
    expect(defaultFingerprint(req({ path: '/ab', search: '' }))).not.toBe(
      defaultFingerprint(req({ path: '/a', search: 'b' })),
    );
  });

  it('uses raw bytes for non-JSON bodies and parses a raw JSON body canonically', () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    expect(bodyForFingerprint(req({ body: bytes }))).toEqual({ form: 'bytes', bytes });
    expect(bodyForFingerprint(req({ body: 'plain text' })).form).toBe('bytes');
    const raw = req({
      bodyParsed: false,
      body: undefined,
      rawBody: Buffer.from('{"b":2,"a":1}'),
    });
    expect(Buffer.from(bodyForFingerprint(raw).bytes).toString()).toBe('{"a":1,"b":2}');
    const rawText = req({
      bodyParsed: false,
      body: undefined,
      rawBody: Buffer.from('{not json'),
      headers: { 'content-type': 'application/json' },
    });
    expect(bodyForFingerprint(rawText).form).toBe('bytes');
    expect(bodyForFingerprint(req({ bodyParsed: false, body: undefined })).form).toBe('none');
  });
});
