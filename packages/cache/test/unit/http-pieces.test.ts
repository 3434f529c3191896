import type { KeelRequest } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { cacheStatus, notModified, replay, strongEtag } from '../../src/http/headers.js';
import {
  cookieRules,
  hasCredentials,
  hostOf,
  normalizeVary,
  primaryOf,
  variantOf,
} from '../../src/http/key.js';

const req = (path: string, search: string, headers: Record<string, string> = {}) =>
  ({ method: 'GET', path, search, headers }) as unknown as KeelRequest;
const rules = { allow: undefined, ignore: [], headers: [] };

describe('cache keys', () => {
  it('sorts the query and separates partitions unambiguously', () => {
    expect(primaryOf(req('/a', 'b=2&a=1'), rules, undefined)).toBe(
      primaryOf(req('/a', 'a=1&b=2'), rules, undefined),
    );
    expect(primaryOf(req('/a', ''), rules, 'x')).not.toBe(
      primaryOf(req('/a', ''), rules, undefined),
    );
    expect(primaryOf(req('/a', ''), rules, '1:x')).not.toBe(primaryOf(req('/a', ''), rules, 'x'));
    const allow = { ...rules, allow: ['page'] };
    expect(primaryOf(req('/a', 'page=2&sid=9'), allow, undefined)).toBe(
      primaryOf(req('/a', 'page=2'), allow, undefined),
    );
  });

  it('puts configured request headers in the primary and Vary headers in the variant', () => {
    const withHeaders = { ...rules, headers: ['x-tenant'] };
    expect(primaryOf(req('/a', '', { 'x-tenant': 'a' }), withHeaders, undefined)).not.toBe(
      primaryOf(req('/a', '', { 'x-tenant': 'b' }), withHeaders, undefined),
    );
    expect(normalizeVary(['Accept-Language', 'accept-encoding'])).toBe(
      'accept-encoding,accept-language',
    );
    expect(variantOf({ 'accept-language': ' fr  ' }, 'accept-language')).toBe(
      'accept-language:fr\n',
    );
    expect(variantOf({}, '')).toBe('');
  });

  it('detects credentials: Authorization or any cookie the route does not ignore', () => {
    const none = cookieRules([]);
    expect(hasCredentials({ authorization: 'x' }, none)).toBe(true);
    expect(hasCredentials({ cookie: 'myapp.sid=abc' }, none)).toBe(true);
    expect(hasCredentials({ cookie: ' ; ' }, none)).toBe(false);
    expect(hasCredentials({}, none)).toBe(false);
    const analytics = cookieRules(['theme', '_ga*']);
    expect(hasCredentials({ cookie: 'theme=dark; _ga=1; _ga_XYZ=2' }, analytics)).toBe(false);
    expect(hasCredentials({ cookie: 'theme=dark; myapp.sid=abc' }, analytics)).toBe(true);
    // Names are case-sensitive (RFC 6265): ignoring `theme` does not ignore `Theme`.
    expect(hasCredentials({ cookie: 'Theme=dark' }, analytics)).toBe(true);
    expect(hasCredentials({ cookie: ['theme=a', 'sid=b'] }, analytics)).toBe(true);
  });

  it('keeps repeated query values in order, and keys on the host', () => {
    expect(primaryOf(req('/a', 'a=1&a=2'), rules, undefined)).not.toBe(
      primaryOf(req('/a', 'a=2&a=1'), rules, undefined),
    );
    expect(primaryOf(req('/a', 'b=1&a=1&a=2'), rules, undefined)).toBe(
      primaryOf(req('/a', 'a=1&a=2&b=1'), rules, undefined),
    );
    expect(primaryOf(req('/a', ''), rules, undefined, 'a.example')).not.toBe(
      primaryOf(req('/a', ''), rules, undefined, 'b.example'),
    );
    const trusting = { trustsPeer: () => true } as never;
    const distrusting = { trustsPeer: () => false } as never;
    expect(hostOf(req('/a', '', { host: 'A.Example' }), distrusting)).toBe('a.example');
    expect(hostOf(req('/a', '', { host: 'a', 'x-forwarded-host': 'evil' }), distrusting)).toBe(
      undefined,
    );
    expect(hostOf(req('/a', '', { host: 'a', 'x-forwarded-proto': 'http' }), trusting)).toBe(
      'a\n\nhttp',
    );
  });
});

describe('replayed headers', () => {
  it('formats Cache-Status members (RFC 9211)', () => {
    expect(cacheStatus('keel', { hit: true, ttlMs: 12_500 })).toBe('keel; hit; ttl=12');
    expect(cacheStatus('keel', { fwd: 'stale', fwdStatus: 503, ttlMs: -2_500, detail: 'x' })).toBe(
      'keel; fwd=stale; fwd-status=503; ttl=-2; detail=x',
    );
    expect(cacheStatus('keel', { fwd: 'miss', collapsed: true })).toBe('keel; fwd=miss; collapsed');
  });

  it('makes a strong ETag and compares If-None-Match weakly', () => {
    const etag = strongEtag(Buffer.from('body'));
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(notModified({ 'if-none-match': `W/${etag}` }, { etag })).toBe(true);
    expect(notModified({ 'if-none-match': '*' }, { etag })).toBe(true);
    expect(notModified({ 'if-none-match': '"nope"' }, { etag })).toBe(false);
    expect(
      notModified(
        { 'if-modified-since': 'Wed, 21 Oct 2015 07:28:00 GMT' },
        { 'last-modified': 'Wed, 21 Oct 2015 07:00:00 GMT' },
      ),
    ).toBe(true);
  });

  it('answers 304 with the validator headers only, and HEAD with the GET length', () => {
    const stored = {
      status: 200,
      headers: { etag: '"a"', 'content-type': 'text/plain', 'cache-control': 'max-age=5' },
      body: Buffer.from('hello'),
    };
    const notMod = replay({ 'if-none-match': '"a"' }, stored, 3_000, 'keel; hit');
    expect(notMod.status).toBe(304);
    expect(notMod.headers).toEqual({
      etag: '"a"',
      'cache-control': 'max-age=5',
      age: '3',
      'cache-status': 'keel; hit',
    });
    const head = replay({}, stored, 0, undefined, true);
    expect(head.headers['content-length']).toBe('5');
  });
});
