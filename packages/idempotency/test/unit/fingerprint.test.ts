import { createHash } from 'node:crypto';
import { canonicalQuery, type KeelRequest } from '@keel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bodyForFingerprint,
  canonicalJson,
  codes,
  defaultFingerprint,
  IdempotencyBodyTooDeepError,
} from '../../src/index.js';

/** The definition canonicalJson must match: JSON.stringify of a copy with sorted keys. */
function referenceCanonicalJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    const json = (v as { toJSON?: unknown }).toJSON;
    if (typeof json === 'function') return sortKeys(json.call(v));
    if (Array.isArray(v)) return v.map((item) => sortKeys(item));
    const sorted = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(v).sort())
      sorted[key] = sortKeys((v as Record<string, unknown>)[key]);
    return sorted;
  };
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

/** The definition defaultFingerprint must match: SHA-256 of length-prefixed parts. */
function referenceFingerprint(req: KeelRequest, headers: readonly string[] = []): string {
  const parts: Buffer[] = [];
  const add = (value: string | Uint8Array) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  add('keel-idempotency-fingerprint-v1');
  add(req.method.toUpperCase());
  add(req.path);
  add(canonicalQuery(req.search));
  for (const name of headers) {
    const value = req.headers[name.toLowerCase()];
    add(name.toLowerCase());
    add(value === undefined ? '' : Array.isArray(value) ? value.join('\n') : value);
  }
  const body = bodyForFingerprint(req);
  add(body.form);
  add(body.bytes);
  return createHash('sha256').update(Buffer.concat(parts)).digest('base64url');
}

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

  it('orders integer-like keys numerically, then the others by code unit, like a sorted copy', () => {
    const value = {
      b: 1,
      10: 'ten',
      9: 'nine',
      a: { 2: 0, 1: 0, z: 0 },
      '01': 1,
      '-1': 2,
      é: 3,
      B: 4,
    };
    expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
    expect(canonicalJson(value)).toBe(
      '{"9":"nine","10":"ten","-1":2,"01":1,"B":4,"a":{"1":0,"2":0,"z":0},"b":1,"é":3}',
    );
  });

  it('matches JSON.stringify of a key-sorted copy for any JSON value', () => {
    const key = fc.oneof(
      fc.string(),
      fc.nat({ max: 5000 }).map(String),
      fc.constantFrom('4294967294', '4294967295', '__proto__', 'toJSON'),
    );
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(
          null,
          true,
          false,
          undefined,
          Number.NaN,
          Number.POSITIVE_INFINITY,
          -0,
          1e21,
        ),
        fc.double(),
        fc.integer(),
        fc.string(),
        fc.array(tie('value')),
        fc.dictionary(key, tie('value')),
        fc.date({ noInvalidDate: true }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
      }),
      { numRuns: 500 },
    );
    // Parsed JSON, including a "__proto__" member.
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = JSON.parse(JSON.stringify(value)) as unknown;
        expect(canonicalJson(parsed)).toBe(referenceCanonicalJson(parsed));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a parsed "__proto__" member as an ordinary member', () => {
    const parsed = JSON.parse('{"__proto__":{"admin":true},"a":1}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"admin":true},"a":1}');
    expect(canonicalJson(parsed)).not.toBe(canonicalJson({ a: 1 }));
  });
});

describe('canonicalJson depth limit', () => {
  const arrays = (depth: number) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
  const objects = (depth: number) => {
    let value: unknown = {};
    for (let i = 1; i < depth; i++) value = { a: value };
    return value;
  };

  it('accepts exactly maxDepth levels and refuses one more, arrays and objects alike', () => {
    expect(canonicalJson(arrays(100))).toBe(JSON.stringify(arrays(100)));
    expect(canonicalJson(objects(100))).toBe(JSON.stringify(objects(100)));
    for (const deep of [arrays(101), objects(101), [1, { b: [objects(99)] }]]) {
      let error: unknown;
      try {
        canonicalJson(deep);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(IdempotencyBodyTooDeepError);
      expect(error).toMatchObject({ code: codes.BODY_TOO_DEEP, status: 400, maxDepth: 100 });
    }
    expect(canonicalJson(arrays(3), 3)).toBe('[[[]]]');
    expect(() => canonicalJson(arrays(4), 3)).toThrow(IdempotencyBodyTooDeepError);
    // Primitives have no depth.
    expect(canonicalJson('x', 1)).toBe('"x"');
  });

  it('refuses the crashing body of issue 19 without overflowing the stack', () => {
    // ~4,000 nested arrays (8 KB) overflowed the recursive version: a 500 for anyone.
    expect(() => canonicalJson(arrays(4000))).toThrow(IdempotencyBodyTooDeepError);
    expect(canonicalJson(arrays(4000), 10_000)).toBe(JSON.stringify(arrays(4000)));
    expect(() => defaultFingerprint(req({ body: arrays(4000) }))).toThrow(
      IdempotencyBodyTooDeepError,
    );
    // A raw JSON body is refused too, not fingerprinted as bytes instead.
    const raw = req({
      bodyParsed: false,
      body: undefined,
      rawBody: Buffer.from('['.repeat(200) + ']'.repeat(200)),
    });
    expect(() => defaultFingerprint(raw)).toThrow(IdempotencyBodyTooDeepError);
    expect(defaultFingerprint(raw, [], 200)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('ends the walk of a cyclic value at the limit', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(IdempotencyBodyTooDeepError);
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

  it('is SHA-256 over length-prefixed parts (stable across versions)', () => {
    const samples = [
      req(),
      req({ search: 'b=2&a=1', body: { é: '✓', list: [1, 'two'] } }),
      req({ body: Buffer.from([0, 1, 255]) }),
      req({ body: 'plain ✓ text' }),
      req({ bodyParsed: false, body: undefined }),
      req({ bodyParsed: false, body: undefined, rawBody: Buffer.from('{"b":2,"a":1}') }),
      req({ headers: { 'x-tenant': ['a', 'b'], 'x-other': 'ü' } }),
    ];
    for (const sample of samples) {
      expect(defaultFingerprint(sample, ['X-Tenant', 'x-other', 'x-missing'])).toBe(
        referenceFingerprint(sample, ['X-Tenant', 'x-other', 'x-missing']),
      );
      expect(defaultFingerprint(sample)).toBe(referenceFingerprint(sample));
    }
    // Pinned: a change here changes every stored fingerprint (retries would get 422).
    expect(defaultFingerprint(req())).toBe('NpQbgtiRJnZEP4pbYK9TZKHfEmngVvpjUBLy-7i1Qes');
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
