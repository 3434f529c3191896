/**
 * What the response cache hands the adapters (`CacheDecision`, `CacheFill`), and the values its
 * parts pass each other while one request goes through it.
 */
import type { CaptureResult, KeelRequest, KeelResponse, ResponseHeaders } from '@keel/core';
import type { Lock } from '@keel/lock';
import type { Flight, StoreFailureReason, VariantOf } from '../engine.js';
import type { CachedEntry } from '../entry.js';
import type { EntryRef } from '../types.js';
import type { DispatchInit } from './dispatch.js';

/** What the adapter does with a request. */
export type CacheDecision =
  /** Answer with this response (a hit, a 304, a collapsed or stale copy, or a 503 problem). */
  | { kind: 'respond'; response: KeelResponse }
  /**
   * Run the handler untouched, with these headers set. `after(status)` (unsafe methods with
   * `invalidateOnUnsafe`) must be awaited before the response is sent.
   */
  | { kind: 'pass'; headers: ResponseHeaders; after?: (status: number) => Promise<void> }
  /** Run the handler, capture its response (`captureResponse`) and hand it to `fill.complete`. */
  | { kind: 'fill'; headers: ResponseHeaders; fill: CacheFill };

/** A fill in progress: the handler's response is what this request and its waiters get. */
export interface CacheFill {
  /** `maxBytes` for `captureResponse`. */
  readonly maxBytes: number;
  /** True when a stale copy may replace an error response (`fallback`). */
  readonly canFallBack: boolean;
  /** With `canFallBack`: serve the stale copy if the handler has not responded by then, ms. */
  readonly timeoutMs: number | undefined;
  /**
   * The stale copy to send instead of a 5xx status, a thrown error or a timeout (stale-if-error),
   * or `undefined`. Once it returned a response, the handler's own response is discarded.
   */
  fallback(reason: number | 'error' | 'timeout'): KeelResponse | undefined;
  /** The handler's captured response. Returns at once: the write never delays anything. */
  complete(result: CaptureResult): void;
  /** The handler threw (Koa): waiters get a stale copy or a 503 at once. */
  fail(error: unknown): void;
}

/** What the adapter knows beyond the request. */
export interface DecideEnv {
  /** The Node request object (to recognise a background revalidation). */
  incoming?: unknown;
  /** Sends a request through the application (for stale-while-revalidate's background refresh). */
  dispatch?: (init: DispatchInit) => Promise<void>;
}

/** What a flight's leader found or produced, for the requests that joined it. */
export type HttpOutcome =
  /** In the cache (`swr`: stale, being revalidated in the background). */
  | { kind: 'hit'; ref: EntryRef; entry: CachedEntry; swr: boolean }
  /** Produced by the leader's handler and storable: safe to share with the same variant. */
  | { kind: 'stored'; ref: EntryRef; entry: CachedEntry }
  | { kind: 'uncacheable' }
  | { kind: 'not-stored' }
  | { kind: 'failed'; stale: CachedEntry | undefined };

/** One cacheable request: what keys it, and what it may share. */
export interface RequestContext<Raw> {
  req: KeelRequest<Raw>;
  id: string;
  tags: readonly string[];
  variant: VariantOf;
  shared: boolean;
  env: DecideEnv;
}

/** What a fill (the leader's handler run, or a background revalidation) writes under. */
export interface FillContext<Raw> {
  ctx: RequestContext<Raw>;
  ref: EntryRef;
  gen: string;
  lock: Lock | undefined;
  versions: Record<string, string> | undefined;
  flight: Flight<HttpOutcome>;
  key: string;
  stale: CachedEntry | undefined;
  sequence: number;
  /** The store failed on lookup or creating the tags (why, for `Cache-Status`): nothing is written. */
  storeDown?: StoreFailureReason | undefined;
}
