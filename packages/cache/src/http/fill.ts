/**
 * One fill: the leader's handler runs, and its captured response decides what the flight's
 * waiters get and what is written. Each path ends the fill exactly once — the outcome goes to
 * the waiters at once, the lock and the flight only after the store write (or marker) landed.
 */
import { type CaptureResult, type KeelResponse, pickHeaders } from '@keel/core';
import type { CacheEngine } from '../engine.js';
import type { EntryMeta } from '../entry.js';
import type { EntryRef } from '../types.js';
import type { CacheDecision, CacheFill, FillContext, HttpOutcome } from './decision.js';
import { strongEtag } from './headers.js';
import { normalizeVary } from './key.js';
import type { RouteConfig } from './options.js';
import { judgeResponse } from './policy.js';
import type { Replies } from './replies.js';

/**
 * Statuses that answer something only this request asked (RFC 9110 §15.3.7, §15.5.13,
 * §15.5.17): a part of the representation, or a failed `If-Match` / `If-Unmodified-Since` /
 * `Range`. They are never stored and never mark the key uncacheable.
 */
const REQUEST_SPECIFIC: ReadonlySet<number> = new Set([206, 412, 416]);

/** What a fill needs besides its own context: the route, the engine and the answers. */
export interface FillDeps<Raw> {
  config: RouteConfig<Raw>;
  engine: CacheEngine;
  replies: Replies<Raw>;
}

/** The `fill` decision handed to the adapter for `f`. */
export function fillDecision<Raw>(deps: FillDeps<Raw>, f: FillContext<Raw>): CacheDecision {
  const detail = f.storeDown;
  return {
    kind: 'fill',
    headers: deps.replies.withStatus({
      fwd: f.stale ? 'stale' : 'miss',
      ...(detail ? { detail } : {}),
    }),
    fill: new ResponseFill(deps, f),
  };
}

class ResponseFill<Raw> implements CacheFill {
  readonly maxBytes: number;
  readonly canFallBack: boolean;
  readonly timeoutMs: number | undefined;
  readonly #deps: FillDeps<Raw>;
  readonly #f: FillContext<Raw>;
  /** True once the waiters have their outcome: later calls from the adapter change nothing. */
  #shared = false;

  constructor(deps: FillDeps<Raw>, f: FillContext<Raw>) {
    this.#deps = deps;
    this.#f = f;
    this.maxBytes = deps.config.maxBodyBytes;
    this.canFallBack = f.stale !== undefined;
    this.timeoutMs = f.stale !== undefined ? deps.config.originTimeoutMs : undefined;
  }

  // The adapters may call these detached (as callbacks): arrow properties keep `this`.
  readonly fallback = (reason: number | 'error' | 'timeout'): KeelResponse | undefined => {
    const { stale, ctx } = this.#f;
    if (!stale || this.#shared) return undefined;
    this.#failed();
    const fwdStatus = typeof reason === 'number' ? reason : undefined;
    return this.#deps.replies.staleIfError(ctx, stale, fwdStatus);
  };

  readonly fail = (error: unknown): void => {
    if (!this.#shared) this.#failed(error);
  };

  readonly complete = (result: CaptureResult): void => {
    if (this.#shared) return;
    if (result.kind === 'aborted') this.#notStored();
    else if (result.kind === 'too-large') this.#refuse('too-large');
    else this.#judge(result.response);
  };

  #judge(response: KeelResponse): void {
    if (response.status >= 500) this.#failed();
    else if (response.status === 304) this.#notStored();
    else if (REQUEST_SPECIFIC.has(response.status)) {
      // It answers this request's own Range or preconditions, not the URL: no verdict on the
      // key (one client's `Range` must not switch the route's caching off for all).
      const key = this.#f.ctx.id;
      this.#deps.engine.events.emit('cache.store', {
        key,
        stored: false,
        reason: 'request-specific',
      });
      this.#notStored();
    } else this.#store(response);
  }

  /** Judge the response by the route's rules; store it, or mark the key uncacheable. */
  #store(response: KeelResponse): void {
    const { config, engine } = this.#deps;
    const { ctx, ref, versions } = this.#f;
    const verdict = judgeResponse(ctx.req, response, {
      statuses: config.statuses,
      ttlMs: config.ttlMs,
      swrMs: config.swrMs,
      sieMs: config.sieMs,
      respectCacheControl: config.respectCacheControl,
      shared: ctx.shared,
      maxTtlMs: engine.maxTtlMs,
    });
    if (!verdict.store) {
      this.#refuse('uncacheable');
      return;
    }
    const body = Buffer.isBuffer(response.body)
      ? response.body
      : Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
    const headers = pickHeaders(response.headers, config.storedHeaders);
    if (config.etag && headers.etag === undefined) headers.etag = strongEtag(body);
    const meta: EntryMeta = {
      kind: 'http',
      ttlMs: verdict.ttlMs,
      swrMs: verdict.swrMs,
      sieMs: verdict.sieMs,
      status: response.status,
      headers,
      ...(ctx.tags.length > 0 && versions ? { tags: versions } : {}),
    };
    const vary = normalizeVary(verdict.vary);
    const target: EntryRef = { id: ref.id, vary, variant: ctx.variant(vary) };
    engine.rememberVary(ref.id, vary);
    this.#share({ kind: 'stored', ref: target, entry: { meta, body, gen: '', ageMs: 0 } });
    // Without tag versions (the store failed) nothing could invalidate it: not stored.
    if (versions === undefined) {
      this.#end();
      return;
    }
    const { gen, sequence } = this.#f;
    void engine.write(target, gen, meta, body, sequence).finally(() => this.#end());
  }

  /** Hand the waiters their outcome, once. */
  #share(outcome: HttpOutcome): void {
    this.#shared = true;
    this.#f.flight.resolve(outcome);
  }

  /** Release the lock and let new requests read the store. */
  #end(): void {
    this.#deps.engine.release(this.#f.lock);
    this.#deps.engine.endFlight(this.#f.key, this.#f.flight);
  }

  #notStored(): void {
    this.#share({ kind: 'not-stored' });
    this.#end();
  }

  #refuse(reason: 'uncacheable' | 'too-large'): void {
    const { engine, config } = this.#deps;
    this.#share({ kind: 'uncacheable' });
    engine.events.emit('cache.store', { key: this.#f.ctx.id, stored: false, reason });
    void engine.mark(this.#f.ref, 'uncacheable', config.hitForMissMs).finally(() => this.#end());
  }

  /** The handler failed (a 5xx, a timeout, or `error` it threw): waiters get stale or a 503. */
  #failed(error?: unknown): void {
    const { engine } = this.#deps;
    this.#share({ kind: 'failed', stale: this.#f.stale });
    const attributes = { key: this.#f.ctx.id, stored: false, reason: 'failed' } as const;
    engine.events.emit('cache.store', attributes, { error });
    void engine.mark(this.#f.ref, 'failed').finally(() => this.#end());
  }
}
