/**
 * The events @keel/cache emits through core's hook (`events` option). `key` is an opaque hash
 * of the cache key (never the URL or key as typed); `layer` says where a hit came from.
 */

/** Why a request or lookup did not use the cache. */
export type CacheBypassReason =
  | 'credentials'
  | 'hit-for-miss'
  | 'store-unavailable'
  | 'store-misconfigured'
  | 'store-data'
  | 'no-key'
  | 'untrusted-forwarded';

declare module '@keel/core' {
  interface KeelEventMap {
    /** Served from the cache while fresh. */
    'cache.hit': { key: string; layer: 'l1' | 'store'; ageMs: number };
    /** Not in the cache (or not usable): the origin or loader runs, or the request waited on one. */
    'cache.miss': { key: string; collapsed: boolean };
    /** A stale copy was served: while revalidating, or because the origin failed (`stale-if-error`). */
    'cache.stale': {
      key: string;
      reason: 'stale-while-revalidate' | 'stale-if-error' | 'lock-busy';
      ageMs: number;
    };
    /**
     * The cache was not consulted: a credentialed request, a hit-for-miss marker, forwarded
     * headers from a peer that is not a trusted proxy (`untrusted-forwarded`), or the store
     * failed — down, slow, full or busy (`store-unavailable`), refusing the call (an ACL,
     * `store-misconfigured`), or holding data the cache did not write (`store-data`).
     */
    'cache.bypass': {
      key?: string;
      reason: CacheBypassReason;
    };
    /**
     * A response or value was stored (`stored: false`: it was refused, with `reason`;
     * `request-specific`: a 206, 412 or 416 answered this request's own `Range` or
     * preconditions, and says nothing about the key).
     */
    'cache.store': {
      key: string;
      stored: boolean;
      reason?: 'uncacheable' | 'too-large' | 'conflict' | 'error' | 'failed' | 'request-specific';
    };
    /** Entries were invalidated by key or tag (`tags`/`keys` are counts). */
    'cache.invalidate': { tags: number; keys: number };
    /**
     * The L1 was cleared to resynchronise after missed invalidation messages (`gap` also for
     * a message it could not read; the event's `error` is the parser's).
     */
    'cache.l1-resync': {
      reason: 'reconnect' | 'gap';
      fromGeneration: number;
      toGeneration: number;
    };
    /** A store call of the cache failed; the cache was bypassed (see `error`). */
    'cache.error': { operation: string };
    /**
     * Redis refused a command of the L1's invalidation bus (`NOPERM`: an ACL user without the
     * bus channel or its counter key). `SUBSCRIBE`/`GET`: this instance's L1 stays off
     * (reported once until it recovers); `PUBLISH`: other L1s were not told (every time).
     */
    'cache.l1-refused': { command: 'SUBSCRIBE' | 'GET' | 'PUBLISH' };
  }
}
