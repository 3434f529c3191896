/**
 * The response cache the Express and Koa adapters call: one `decide()` per request, then the
 * adapter applies the decision — answer from the cache, run the handler untouched, or run it and
 * hand the captured response back (`fill`). Every HTTP rule lives here, once.
 */
import { randomBytes } from 'node:crypto';
import {
  type CaptureResult,
  hashKeyPart,
  type KeelRequest,
  type KeelResponse,
  pickHeaders,
  problemFromError,
  problemResponse,
  type ResponseHeaders,
  validatorFor,
} from '@keel/core';
import type { Lock } from '@keel/lock';
import { type Cache, createCache, engineOf } from '../cache.js';
import {
  type CacheEngine,
  type Flight,
  type StoreFailureReason,
  storeFailureReason,
  TIMED_OUT,
  type VariantOf,
} from '../engine.js';
import { type CachedEntry, type EntryMeta, freshness } from '../entry.js';
import { SharedFillFailedError } from '../errors.js';
import type { EntryRef } from '../types.js';
import { type DispatchInit, revalidationToken } from './dispatch.js';
import { cacheStatus, replay, strongEtag } from './headers.js';
import { hasCredentials, hostOf, normalizeVary, primaryOf, variantOf } from './key.js';
import { parseRouteOptions, type ResponseCacheOptions, routeCache } from './options.js';
import { judgeResponse, type PolicyRules } from './policy.js';

export type { CredentialsMode, ResponseCacheOptions } from './options.js';
export { DEFAULT_CACHEABLE_STATUSES } from './options.js';

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

export interface ResponseCache<Raw = unknown> {
  /** The cache entries go to (for `invalidate`, `stats`). */
  readonly cache: Cache;
  decide(req: KeelRequest<Raw>, env?: DecideEnv): Promise<CacheDecision>;
}

/** Headers of the request not copied into a background revalidation. */
const NOT_FORWARDED = new Set([
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
]);

/** The tag every entry of a path carries with `invalidateOnUnsafe`. */
export function pathTag(path: string): string {
  return `keel:path:${path}`;
}

/** What a flight's leader found or produced, for the requests that joined it. */
type HttpOutcome =
  /** In the cache (`swr`: stale, being revalidated in the background). */
  | { kind: 'hit'; ref: EntryRef; entry: CachedEntry; swr: boolean }
  /** Produced by the leader's handler and storable: safe to share with the same variant. */
  | { kind: 'stored'; ref: EntryRef; entry: CachedEntry }
  | { kind: 'uncacheable' }
  | { kind: 'not-stored' }
  | { kind: 'failed'; stale: CachedEntry | undefined };

interface RequestContext<Raw> {
  req: KeelRequest<Raw>;
  id: string;
  tags: readonly string[];
  variant: VariantOf;
  shared: boolean;
  env: DecideEnv;
}

interface FillContext<Raw> {
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

const PASS: CacheDecision = { kind: 'pass', headers: {} };
/**
 * Statuses that answer something only this request asked (RFC 9110 §15.3.7, §15.5.13,
 * §15.5.17): a part of the representation, or a failed `If-Match` / `If-Unmodified-Since` /
 * `Range`. They are never stored and never mark the key uncacheable.
 */
const REQUEST_SPECIFIC: ReadonlySet<number> = new Set([206, 412, 416]);
/** A background revalidation still running after this long is abandoned, ms. */
const REFRESH_TIMEOUT_MS = 30_000;
const flightKey = (ref: EntryRef) => `h\n${ref.id}\n${ref.variant}`;

/** Build the framework-neutral response cache (the adapters' `responseCache()` call this). */
export function createResponseCache<Raw = unknown>(
  options: ResponseCacheOptions<Raw> = {},
): ResponseCache<Raw> {
  const cache = routeCache(options) ?? createCache();
  const engine: CacheEngine = engineOf(cache);
  const config = parseRouteOptions(options, engine.events);
  const { ttlMs, swrMs, sieMs, originTimeoutMs, statuses, keyRules, partition } = config;
  const { credentials, ignoreCookies, storedHeaders, maxBodyBytes, hitForMissMs } = config;
  const { invalidateOnUnsafe, statusName, etag, respectCacheControl, identity } = config;
  const tagsOption = config.tags;
  const maxTtlMs = 86_400_000;
  const refreshes = new Map<string, FillContext<Raw>>();
  const counters = engine.counters;
  const events = engine.events;

  const status = (params: Parameters<typeof cacheStatus>[1]) =>
    statusName === undefined ? undefined : cacheStatus(statusName, params);
  const withStatus = (params: Parameters<typeof cacheStatus>[1]): ResponseHeaders => {
    const value = status(params);
    return value === undefined ? {} : { 'cache-status': value };
  };
  const passWith = (params: Parameters<typeof cacheStatus>[1]): CacheDecision => ({
    kind: 'pass',
    headers: withStatus(params),
  });

  function stored(entry: CachedEntry) {
    return { status: entry.meta.s ?? 200, headers: entry.meta.h ?? {}, body: entry.body };
  }

  function respond(
    req: KeelRequest<Raw>,
    entry: CachedEntry,
    params: Parameters<typeof cacheStatus>[1],
  ): CacheDecision {
    return {
      kind: 'respond',
      response: replay(
        req.headers,
        stored(entry),
        entry.ageMs,
        status(params),
        req.method === 'HEAD',
      ),
    };
  }

  function serveStale(
    ctx: RequestContext<Raw>,
    entry: CachedEntry,
    fwdStatus?: number,
  ): KeelResponse {
    counters.stale++;
    events.emit('cache.stale', { key: ctx.id, reason: 'stale-if-error', ageMs: entry.ageMs });
    return replay(
      ctx.req.headers,
      stored(entry),
      entry.ageMs,
      status({
        fwd: 'stale',
        ...(fwdStatus === undefined ? {} : { fwdStatus }),
        ttlMs: entry.meta.ttl - entry.ageMs,
        detail: 'stale-if-error',
      }),
      ctx.req.method === 'HEAD',
    );
  }

  function failed(ctx: RequestContext<Raw>, stale: CachedEntry | undefined): CacheDecision {
    if (stale) return { kind: 'respond', response: serveStale(ctx, stale) };
    const error = new SharedFillFailedError(1);
    const response = problemResponse(problemFromError(error), { 'retry-after': '1' });
    const value = status({ fwd: 'miss', collapsed: true, detail: 'shared-fill-failed' });
    if (value !== undefined) response.headers['cache-status'] = value;
    return { kind: 'respond', response };
  }

  async function decide(req: KeelRequest<Raw>, env: DecideEnv = {}): Promise<CacheDecision> {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return unsafe(req);
    const token = revalidationToken(env.incoming);
    if (token !== undefined) {
      const pending = refreshes.get(token);
      if (pending) {
        refreshes.delete(token);
        return fillDecision(pending);
      }
    }
    const ctx = contextOf(req, env);
    return 'kind' in ctx ? ctx : lookupAndDecide(ctx, 0);
  }

  /** Unsafe methods pass; with `invalidateOnUnsafe`, a success invalidates the path's entries. */
  function unsafe(req: KeelRequest<Raw>): CacheDecision {
    if (!invalidateOnUnsafe) return PASS;
    const tag = pathTag(req.path);
    return {
      kind: 'pass',
      headers: {},
      after: async (code) => {
        if (code < 200 || code >= 400) return;
        try {
          await cache.invalidate({ tags: [tag] });
        } catch (error) {
          events.emit('cache.error', { operation: 'invalidate' }, { error });
        }
      },
    };
  }

  function bypass(reason: 'credentials' | 'untrusted-forwarded'): CacheDecision {
    counters.bypasses++;
    events.emit('cache.bypass', { reason });
    return passWith({ fwd: 'bypass', detail: reason });
  }

  /** What keys this request, or the decision to leave the cache out of it. */
  function contextOf(req: KeelRequest<Raw>, env: DecideEnv): RequestContext<Raw> | CacheDecision {
    let part: string | undefined;
    if (partition) {
      const value = partition(req);
      if (value !== undefined && (typeof value !== 'string' || value === '')) {
        throw validatorFor('responseCache').fail(
          'partition',
          value,
          'a function returning a non-empty string or undefined',
        );
      }
      part = value;
    }
    let shared = true;
    if (hasCredentials(req.headers, ignoreCookies)) {
      if (credentials === 'bypass' || (credentials === 'partition' && part === undefined)) {
        return bypass('credentials');
      }
      if (credentials === 'partition') shared = false;
    }
    const host = identity === undefined ? '' : hostOf(req, identity);
    if (host === undefined) {
      engine.warnings.warn(
        'untrustedForwardedHost',
        'responseCache: a request carries X-Forwarded-Host or X-Forwarded-Proto from a peer that is not a trusted proxy, so it is not cached (the handler may believe those headers, and a client could then poison the entry of another host). Behind a proxy, pass identity: { trustProxy } as your framework trusts it',
      );
      return bypass('untrusted-forwarded');
    }
    const routeTags = typeof tagsOption === 'function' ? tagsOption(req) : (tagsOption ?? []);
    const tags = invalidateOnUnsafe ? [...routeTags, pathTag(req.path)] : [...routeTags];
    return {
      req,
      id: hashKeyPart(primaryOf(req, keyRules, part, host)),
      tags,
      variant: (vary) => variantOf(req.headers, vary),
      shared,
      env,
    };
  }

  function hit(ctx: RequestContext<Raw>, entry: CachedEntry, layer: 'l1' | 'store'): CacheDecision {
    counters.hits++;
    if (layer === 'l1') counters.l1Hits++;
    if (events.active) events.emit('cache.hit', { key: ctx.id, layer, ageMs: entry.ageMs });
    return respond(ctx.req, entry, { hit: true, ttlMs: entry.meta.ttl - entry.ageMs });
  }

  function staleWhileRevalidating(ctx: RequestContext<Raw>, entry: CachedEntry): CacheDecision {
    counters.stale++;
    events.emit('cache.stale', {
      key: ctx.id,
      reason: 'stale-while-revalidate',
      ageMs: entry.ageMs,
    });
    return respond(ctx.req, entry, {
      hit: true,
      ttlMs: entry.meta.ttl - entry.ageMs,
      detail: 'stale-while-revalidate',
    });
  }

  /**
   * The L1 answers fresh hits at once. Otherwise one request per variant (the flight's leader)
   * looks the entry up and, on a miss, runs the handler; concurrent requests for it join and
   * share what it found or produced.
   */
  async function lookupAndDecide(
    ctx: RequestContext<Raw>,
    attempt: number,
  ): Promise<CacheDecision> {
    const guess = engine.guess(ctx.id, ctx.variant);
    const inL1 = engine.peek(guess, ctx.tags);
    if (inL1 && freshness(inL1.entry.meta, inL1.entry.ageMs).fresh)
      return hit(ctx, inL1.entry, 'l1');
    // HEAD has no body to store: answered from a stored GET, or by the handler.
    if (ctx.req.method === 'HEAD') return head(ctx);
    const key = flightKey(guess);
    const current = engine.flight<HttpOutcome>(key);
    if (current) {
      counters.collapsed++;
      const outcome = await engine.waitFlight(current);
      if (outcome === TIMED_OUT) {
        counters.misses++;
        return passWith({ fwd: 'miss' });
      }
      return joined(ctx, outcome, attempt);
    }
    const flight = engine.startFlight<HttpOutcome>(key, ctx.id, ctx.tags);
    try {
      return await lead(ctx, flight, key);
    } catch (error) {
      flight.resolve({ kind: 'not-stored' });
      engine.endFlight(key, flight as Flight<unknown>);
      throw error;
    }
  }

  async function head(ctx: RequestContext<Raw>): Promise<CacheDecision> {
    const found = await engine.lookup(ctx.id, ctx.variant, ctx.tags);
    if (found.kind === 'found') {
      const state = freshness(found.entry.meta, found.entry.ageMs);
      if (state.fresh) return hit(ctx, found.entry, found.layer);
      if (state.revalidate) return staleWhileRevalidating(ctx, found.entry);
    }
    if (found.kind === 'error') {
      const reason = storeFailureReason(found.error);
      counters.bypasses++;
      events.emit('cache.bypass', { key: ctx.id, reason });
      return passWith({ fwd: 'miss', detail: reason });
    }
    counters.misses++;
    return passWith({ fwd: 'miss' });
  }

  async function lead(
    ctx: RequestContext<Raw>,
    flight: Flight<HttpOutcome>,
    key: string,
  ): Promise<CacheDecision> {
    const end = (outcome: HttpOutcome) => {
      flight.resolve(outcome);
      engine.endFlight(key, flight as Flight<unknown>);
    };
    const found = await engine.lookup(ctx.id, ctx.variant, ctx.tags);
    let stale: CachedEntry | undefined;
    let gen = '';
    let storeDown: StoreFailureReason | undefined;
    if (found.kind === 'found') {
      const { entry } = found;
      const state = freshness(entry.meta, entry.ageMs);
      if (state.fresh) {
        end({ kind: 'hit', ref: found.ref, entry, swr: false });
        return hit(ctx, entry, found.layer);
      }
      if (state.revalidate && ctx.env.dispatch) {
        // Joiners get the stale copy too; the flight lasts until the refresh has landed.
        flight.resolve({ kind: 'hit', ref: found.ref, entry, swr: true });
        revalidate(ctx, found.ref, entry, flight, key);
        return staleWhileRevalidating(ctx, entry);
      }
      if (state.ifError || state.revalidate) stale = entry;
      gen = entry.gen;
    } else if (found.kind === 'miss') {
      if (found.marker === 'uncacheable') {
        end({ kind: 'uncacheable' });
        counters.bypasses++;
        events.emit('cache.bypass', { key: ctx.id, reason: 'hit-for-miss' });
        return passWith({ fwd: 'miss', detail: 'hit-for-miss' });
      }
      gen = found.gen;
    } else {
      storeDown = storeFailureReason(found.error);
      counters.bypasses++;
      events.emit('cache.bypass', { key: ctx.id, reason: storeDown });
    }
    counters.misses++;
    events.emit('cache.miss', { key: ctx.id, collapsed: false });
    const ref = found.ref;
    const gate = storeDown
      ? ({ kind: 'lead', lock: undefined } as const)
      : await engine.gate(ref, ctx.variant, ctx.tags, 'wait');
    switch (gate.kind) {
      case 'found':
        counters.collapsed++;
        end({ kind: 'stored', ref: gate.found.ref, entry: gate.found.entry });
        return respond(ctx.req, gate.found.entry, { fwd: 'miss', collapsed: true });
      case 'uncacheable':
        end({ kind: 'uncacheable' });
        return passWith({ fwd: stale ? 'stale' : 'miss', detail: 'hit-for-miss' });
      case 'failed':
        end({ kind: 'failed', stale });
        return failed(ctx, stale);
      case 'busy':
        end({ kind: 'not-stored' });
        return passWith({ fwd: stale ? 'stale' : 'miss' });
    }
    const sequence = engine.sequence;
    const tagged = storeDown ? { failed: storeDown } : await engine.ensureTags(ctx.tags);
    // Tags not created (Redis full, busy, refusing…): the fill is not stored; say why.
    if ('failed' in tagged) storeDown = tagged.failed;
    const versions = 'versions' in tagged ? tagged.versions : undefined;
    return fillDecision({
      ctx,
      ref,
      gen,
      lock: gate.lock,
      versions,
      flight,
      key,
      stale,
      sequence,
      storeDown,
    });
  }

  /** A request that joined another's flight: share its result when it is the same representation. */
  function joined(
    ctx: RequestContext<Raw>,
    outcome: HttpOutcome,
    attempt: number,
  ): CacheDecision | Promise<CacheDecision> {
    switch (outcome.kind) {
      case 'hit':
      case 'stored':
        // Same variant under the entry's Vary: the same representation, safe to share.
        if (outcome.ref.variant === ctx.variant(outcome.ref.vary)) {
          if (outcome.kind === 'stored') {
            counters.misses++;
            events.emit('cache.miss', { key: ctx.id, collapsed: true });
            return respond(ctx.req, outcome.entry, { fwd: 'miss', collapsed: true });
          }
          return outcome.swr
            ? staleWhileRevalidating(ctx, outcome.entry)
            : hit(ctx, outcome.entry, 'store');
        }
        // Another variant: the Vary is known now, so this request leads its own variant.
        return attempt === 0 ? lookupAndDecide(ctx, 1) : passWith({ fwd: 'vary-miss' });
      case 'failed':
        counters.misses++;
        return failed(ctx, outcome.stale);
      case 'uncacheable':
        counters.misses++;
        return passWith({ fwd: 'miss', detail: 'hit-for-miss' });
      default:
        // Not stored (the leader's client went away, a 304…): try once more as a leader.
        if (attempt === 0) return lookupAndDecide(ctx, 1);
        counters.misses++;
        return passWith({ fwd: 'miss' });
    }
  }

  function fillDecision(f: FillContext<Raw>): CacheDecision {
    const { ctx, ref, stale } = f;
    let settled = false;
    const settle = (outcome: HttpOutcome): boolean => {
      if (settled) return false;
      settled = true;
      f.flight.resolve(outcome);
      return true;
    };
    const finish = () => {
      engine.release(f.lock);
      engine.endFlight(f.key, f.flight as Flight<unknown>);
    };
    const refuse = (reason: 'uncacheable' | 'too-large', markMs: number) => {
      settle({ kind: 'uncacheable' });
      events.emit('cache.store', { key: ctx.id, stored: false, reason });
      void engine.mark(ref, 'uncacheable', markMs).finally(finish);
    };
    const fail = () => {
      settle({ kind: 'failed', stale });
      events.emit('cache.store', { key: ctx.id, stored: false, reason: 'failed' });
      void engine.mark(ref, 'failed').finally(finish);
    };
    const fill: CacheFill = {
      maxBytes: maxBodyBytes,
      canFallBack: stale !== undefined,
      timeoutMs: stale !== undefined ? originTimeoutMs : undefined,
      fallback(reason) {
        if (!stale || settled) return undefined;
        fail();
        return serveStale(ctx, stale, typeof reason === 'number' ? reason : undefined);
      },
      fail(_error) {
        if (!settled) fail();
      },
      complete(result) {
        if (settled) return;
        if (result.kind === 'aborted') {
          settle({ kind: 'not-stored' });
          return finish();
        }
        if (result.kind === 'too-large') return refuse('too-large', hitForMissMs);
        const response = result.response;
        if (response.status >= 500) return fail();
        if (response.status === 304) {
          settle({ kind: 'not-stored' });
          return finish();
        }
        if (REQUEST_SPECIFIC.has(response.status)) {
          // It answers this request's own Range or preconditions, not the URL: no verdict on
          // the key (one client's `Range` must not switch the route's caching off for all).
          settle({ kind: 'not-stored' });
          events.emit('cache.store', { key: ctx.id, stored: false, reason: 'request-specific' });
          return finish();
        }
        const rules: PolicyRules = {
          statuses,
          ttlMs,
          swrMs,
          sieMs,
          respectCacheControl,
          shared: ctx.shared,
          maxTtlMs,
        };
        const verdict = judgeResponse(ctx.req, response, rules);
        if (!verdict.store) return refuse('uncacheable', hitForMissMs);
        const body = Buffer.isBuffer(response.body)
          ? response.body
          : Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
        const headers = pickHeaders(response.headers, storedHeaders);
        if (etag && headers.etag === undefined) headers.etag = strongEtag(body);
        const meta: EntryMeta = {
          k: 'h',
          ttl: verdict.ttlMs,
          swr: verdict.swrMs,
          sie: verdict.sieMs,
          s: response.status,
          h: headers,
          ...(ctx.tags.length > 0 && f.versions ? { tg: f.versions } : {}),
        };
        const vary = normalizeVary(verdict.vary);
        const target: EntryRef = { id: ref.id, vary, variant: ctx.variant(vary) };
        engine.rememberVary(ref.id, vary);
        settle({ kind: 'stored', ref: target, entry: { meta, body, gen: '', ageMs: 0 } });
        // Without tag versions (the store failed) nothing could invalidate it: not stored.
        if (f.versions === undefined) return finish();
        void engine.write(target, f.gen, meta, body, f.sequence).finally(finish);
      },
    };
    const detail = f.storeDown;
    return {
      kind: 'fill',
      headers: withStatus({ fwd: stale ? 'stale' : 'miss', ...(detail ? { detail } : {}) }),
      fill,
    };
  }

  /**
   * Refresh a stale entry in the background: once per variant in this process (the caller's
   * flight lasts until it is done) and per cluster (the lock; another holder means skip).
   */
  function revalidate(
    ctx: RequestContext<Raw>,
    ref: EntryRef,
    entry: CachedEntry,
    flight: Flight<HttpOutcome>,
    key: string,
  ): void {
    const dispatch = ctx.env.dispatch;
    if (!dispatch) return;
    const token = randomBytes(12).toString('base64url');
    let lock: Lock | undefined;
    let registered = false;
    void (async () => {
      try {
        const gate = await engine.gate(ref, ctx.variant, ctx.tags, 'skip');
        if (gate.kind !== 'lead') return;
        lock = gate.lock;
        const sequence = engine.sequence;
        const tagged = await engine.ensureTags(ctx.tags);
        const versions = 'versions' in tagged ? tagged.versions : undefined;
        refreshes.set(token, {
          ctx,
          ref,
          gen: entry.gen,
          lock,
          versions,
          flight,
          key,
          stale: undefined,
          sequence,
        });
        registered = true;
        const { req } = ctx;
        const headers: Record<string, string | string[] | undefined> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (!NOT_FORWARDED.has(name)) headers[name] = value;
        }
        await dispatch({
          url: req.search === '' ? req.path : `${req.path}?${req.search}`,
          headers,
          remoteAddress: req.remoteAddress,
          token,
          timeoutMs: REFRESH_TIMEOUT_MS,
        });
      } catch (error) {
        events.emit('cache.error', { operation: 'revalidate' }, { error });
      } finally {
        // Handed over: the copy reached this middleware, whose fill now owns flight and lock.
        const handedOver = registered && !refreshes.has(token);
        refreshes.delete(token);
        if (!handedOver) {
          flight.resolve({ kind: 'not-stored' });
          engine.release(lock);
          engine.endFlight(key, flight as Flight<unknown>);
        }
      }
    })();
  }

  return { cache, decide };
}
