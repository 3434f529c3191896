/**
 * May this response be stored, and for how long? RFC 9111 directives are read by
 * `http-cache-semantics` (no hand-parsing of `Cache-Control`); the rules only a server-side
 * cache has — the status allow-list, `Set-Cookie`, the route's TTL — are ours.
 */
import type { IncomingHeaders, KeelResponse } from '@keel/core';
import CachePolicy from 'http-cache-semantics';
import { normalizeVary } from './key.js';

/** Why a response was not stored. */
export type UncacheableReason =
  | 'status'
  | 'set-cookie'
  | 'no-store'
  | 'private'
  | 'no-cache'
  | 'vary-star'
  | 'authorization'
  | 'expired';

export type Verdict =
  | { store: true; ttlMs: number; swrMs: number; sieMs: number; vary: string }
  | { store: false; reason: UncacheableReason };

export interface PolicyRules {
  /** Statuses that may be stored. */
  statuses: ReadonlySet<number>;
  /** The route's freshness, ms. */
  ttlMs: number;
  swrMs: number;
  sieMs: number;
  /** Take freshness (and RFC 5861 stale windows) from `s-maxage` / `max-age` / `Expires`. */
  respectCacheControl: boolean;
  /** False when the entry belongs to one user's partition: `private` may then be stored. */
  shared: boolean;
  maxTtlMs: number;
}

/** Request headers whose directives a server-side cache does not let the client set. */
const CLIENT_DIRECTIVES = ['cache-control', 'pragma'];

export function judgeResponse(
  request: { path: string; search: string; headers: IncomingHeaders },
  response: KeelResponse,
  rules: PolicyRules,
): Verdict {
  if (!rules.statuses.has(response.status)) return { store: false, reason: 'status' };
  const headers = response.headers;
  // RFC 9111 §3.5 lets a shared cache store Set-Cookie; we never do: it would hand a session out.
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' };
  const vary = normalizeVary(headers.vary);
  if (vary.split(',').includes('*')) return { store: false, reason: 'vary-star' };

  const requestHeaders: Record<string, string | string[] | undefined> = { ...request.headers };
  for (const name of CLIENT_DIRECTIVES) delete requestHeaders[name];
  const policy = new CachePolicy(
    {
      method: 'GET',
      url: request.search === '' ? request.path : `${request.path}?${request.search}`,
      headers: requestHeaders,
    },
    // The status decision is ours (the allow-list above); the policy judges the directives.
    { status: 200, headers },
    { shared: rules.shared, cacheHeuristic: 0, immutableMinTimeToLive: 0 },
  );
  const directives = policy.toObject().rescc as Record<string, string | boolean | undefined>;
  if (!policy.storable()) {
    if (directives['no-store']) return { store: false, reason: 'no-store' };
    if (directives.private && rules.shared) return { store: false, reason: 'private' };
    return { store: false, reason: 'authorization' };
  }
  // no-cache: storable, but every reuse needs revalidation with the origin, which we don't do.
  if (directives['no-cache']) return { store: false, reason: 'no-cache' };

  let { ttlMs, swrMs, sieMs } = rules;
  if (rules.respectCacheControl) {
    const explicit =
      directives['max-age'] !== undefined ||
      (rules.shared && directives['s-maxage'] !== undefined) ||
      headers.expires !== undefined;
    // Freshness only: timeToLive() would add the RFC 5861 windows, which we keep apart.
    if (explicit) ttlMs = Math.floor((policy.maxAge() - Math.floor(policy.age())) * 1000);
    swrMs = seconds(directives['stale-while-revalidate']) ?? swrMs;
    sieMs = seconds(directives['stale-if-error']) ?? sieMs;
  }
  ttlMs = Math.min(ttlMs, rules.maxTtlMs);
  if (ttlMs <= 0) return { store: false, reason: 'expired' };
  return { store: true, ttlMs, swrMs, sieMs, vary };
}

function seconds(value: string | boolean | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n * 1000) : undefined;
}
