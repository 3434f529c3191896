/**
 * The answers the response cache gives, each with its counter, its event and its
 * `Cache-Status`: written once here, so the lookup, the fill and the joiners say the same thing.
 */
import {
  type KeelEvents,
  type KeelRequest,
  type KeelResponse,
  problemFromError,
  problemResponse,
  type ResponseHeaders,
} from '@keel/core';
import type { Counters } from '../engine.js';
import type { CachedEntry } from '../entry.js';
import { SharedFillFailedError } from '../errors.js';
import type { CacheBypassReason } from '../events.js';
import type { CacheDecision, RequestContext } from './decision.js';
import { cacheStatus, replay } from './headers.js';

type StatusParams = Parameters<typeof cacheStatus>[1];

export class Replies<Raw> {
  readonly #statusName: string | undefined;
  readonly #counters: Counters;
  readonly #events: KeelEvents;

  constructor(statusName: string | undefined, counters: Counters, events: KeelEvents) {
    this.#statusName = statusName;
    this.#counters = counters;
    this.#events = events;
  }

  /** The `Cache-Status` value, or `undefined` with `cacheStatus: false`. */
  status(params: StatusParams): string | undefined {
    return this.#statusName === undefined ? undefined : cacheStatus(this.#statusName, params);
  }

  withStatus(params: StatusParams): ResponseHeaders {
    const value = this.status(params);
    return value === undefined ? {} : { 'cache-status': value };
  }

  pass(params: StatusParams): CacheDecision {
    return { kind: 'pass', headers: this.withStatus(params) };
  }

  /** Answer from a cached entry. */
  respond(req: KeelRequest<Raw>, entry: CachedEntry, params: StatusParams): CacheDecision {
    return {
      kind: 'respond',
      response: replay(
        req.headers,
        storedResponse(entry),
        entry.ageMs,
        this.status(params),
        req.method === 'HEAD',
      ),
    };
  }

  hit(ctx: RequestContext<Raw>, entry: CachedEntry, layer: 'l1' | 'store'): CacheDecision {
    this.#counters.hits++;
    if (layer === 'l1') this.#counters.l1Hits++;
    if (this.#events.active) {
      this.#events.emit('cache.hit', { key: ctx.id, layer, ageMs: entry.ageMs });
    }
    return this.respond(ctx.req, entry, { hit: true, ttlMs: entry.meta.ttlMs - entry.ageMs });
  }

  staleWhileRevalidating(ctx: RequestContext<Raw>, entry: CachedEntry): CacheDecision {
    this.#counters.stale++;
    this.#events.emit('cache.stale', {
      key: ctx.id,
      reason: 'stale-while-revalidate',
      ageMs: entry.ageMs,
    });
    return this.respond(ctx.req, entry, {
      hit: true,
      ttlMs: entry.meta.ttlMs - entry.ageMs,
      detail: 'stale-while-revalidate',
    });
  }

  /** The stale copy instead of an error, a 5xx (`fwdStatus`) or a timeout. */
  staleIfError(ctx: RequestContext<Raw>, entry: CachedEntry, fwdStatus?: number): KeelResponse {
    this.#counters.stale++;
    this.#events.emit('cache.stale', { key: ctx.id, reason: 'stale-if-error', ageMs: entry.ageMs });
    return replay(
      ctx.req.headers,
      storedResponse(entry),
      entry.ageMs,
      this.status({
        fwd: 'stale',
        ...(fwdStatus === undefined ? {} : { fwdStatus }),
        ttlMs: entry.meta.ttlMs - entry.ageMs,
        detail: 'stale-if-error',
      }),
      ctx.req.method === 'HEAD',
    );
  }

  /** The shared fill failed: its stale copy, or a 503 problem. */
  failed(ctx: RequestContext<Raw>, stale: CachedEntry | undefined): CacheDecision {
    if (stale) return { kind: 'respond', response: this.staleIfError(ctx, stale) };
    const error = new SharedFillFailedError(1);
    const response = problemResponse(problemFromError(error), { 'retry-after': '1' });
    const value = this.status({ fwd: 'miss', collapsed: true, detail: 'shared-fill-failed' });
    if (value !== undefined) response.headers['cache-status'] = value;
    return { kind: 'respond', response };
  }

  /** Leave the cache out of this request (credentials, an untrusted forwarded host). */
  bypass(reason: 'credentials' | 'untrusted-forwarded'): CacheDecision {
    this.#counters.bypasses++;
    this.#events.emit('cache.bypass', { reason });
    return this.pass({ fwd: 'bypass', detail: reason });
  }

  /** The store could not answer, or marked the key uncacheable: the handler answers. */
  storeBypass(key: string, reason: CacheBypassReason): void {
    this.#counters.bypasses++;
    this.#events.emit('cache.bypass', { key, reason });
  }
}

function storedResponse(entry: CachedEntry) {
  return { status: entry.meta.status ?? 200, headers: entry.meta.headers ?? {}, body: entry.body };
}
