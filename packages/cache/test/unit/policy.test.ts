import { describe, expect, it } from 'vitest';
import { judgeResponse, type PolicyRules } from '../../src/http/policy.js';

const rules: PolicyRules = {
  statuses: new Set([200, 203, 204, 300, 301, 404, 410]),
  ttlMs: 60_000,
  swrMs: 0,
  sieMs: 0,
  respectCacheControl: false,
  shared: true,
  maxTtlMs: 86_400_000,
};
const request = { path: '/r', search: '', headers: {} };
const judge = (
  headers: Record<string, string>,
  options: Partial<PolicyRules> = {},
  status = 200,
  requestHeaders: Record<string, string> = {},
) =>
  judgeResponse(
    { ...request, headers: requestHeaders },
    { status, headers, body: new Uint8Array() },
    { ...rules, ...options },
  );

describe('judgeResponse (RFC 9111 via http-cache-semantics)', () => {
  it('stores a plain 200 for the route TTL', () => {
    expect(judge({})).toEqual({ store: true, ttlMs: 60_000, swrMs: 0, sieMs: 0, vary: '' });
  });

  it('refuses what a shared cache must not store', () => {
    expect(judge({ 'cache-control': 'no-store' })).toEqual({ store: false, reason: 'no-store' });
    expect(judge({ 'cache-control': 'private' })).toEqual({ store: false, reason: 'private' });
    expect(judge({ 'cache-control': 'no-cache' })).toEqual({ store: false, reason: 'no-cache' });
    expect(judge({ 'set-cookie': 'a=1' })).toEqual({ store: false, reason: 'set-cookie' });
    expect(judge({ vary: 'Accept, *' })).toEqual({ store: false, reason: 'vary-star' });
    expect(judge({}, {}, 201)).toEqual({ store: false, reason: 'status' });
    expect(judge({}, {}, 500)).toEqual({ store: false, reason: 'status' });
  });

  it('stores private responses in a per-user partition', () => {
    expect(judge({ 'cache-control': 'private' }, { shared: false })).toMatchObject({ store: true });
  });

  it('applies RFC 9111 §3.5 to shared responses to credentialed requests', () => {
    expect(judge({}, {}, 200, { authorization: 'Bearer x' })).toEqual({
      store: false,
      reason: 'authorization',
    });
    expect(
      judge({ 'cache-control': 'public' }, {}, 200, { authorization: 'Bearer x' }),
    ).toMatchObject({
      store: true,
    });
  });

  it('ignores the client request directives', () => {
    expect(judge({}, {}, 200, { 'cache-control': 'no-store' })).toMatchObject({ store: true });
  });

  it('takes freshness and RFC 5861 windows from the origin when told to', () => {
    const respect = { respectCacheControl: true };
    expect(judge({ 'cache-control': 'max-age=30' }, respect)).toMatchObject({ ttlMs: 30_000 });
    expect(judge({ 'cache-control': 'max-age=30, s-maxage=90' }, respect)).toMatchObject({
      ttlMs: 90_000,
    });
    expect(
      judge(
        { 'cache-control': 'max-age=10, stale-while-revalidate=5, stale-if-error=60' },
        respect,
      ),
    ).toMatchObject({ ttlMs: 10_000, swrMs: 5_000, sieMs: 60_000 });
    expect(judge({ 'cache-control': 'max-age=0' }, respect)).toEqual({
      store: false,
      reason: 'expired',
    });
    expect(judge({}, respect)).toMatchObject({ ttlMs: 60_000 });
    // Without respectCacheControl the route's TTL wins.
    expect(judge({ 'cache-control': 'max-age=30' })).toMatchObject({ ttlMs: 60_000 });
  });

  it('normalises Vary', () => {
    expect(judge({ vary: 'Accept-Language, accept-encoding,Accept-Language' })).toMatchObject({
      vary: 'accept-encoding,accept-language',
    });
  });
});
