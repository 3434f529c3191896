/**
 * The response cache the Express and Koa adapters call: one `decide()` per request, then the
 * adapter applies the decision — answer from the cache, run the handler untouched, or run it and
 * hand the captured response back (`fill`). Every HTTP rule lives here, once: the route's
 * options are parsed once into a `RouteConfig`, the fill (`fill.ts`) and the background
 * revalidation (`revalidate.ts`) are units of their own, and `Replies` says each answer.
 */
import { hashKeyPart, type KeelRequest, validatorFor } from '@keel/core';
import { type Cache, createCache, engineOf } from '../cache.js';
import {
  type CacheEngine,
  type Flight,
  type Lookup,
  type StoreFailureReason,
  storeFailureReason,
  TIMED_OUT,
} from '../engine.js';
import { type CachedEntry, freshness } from '../entry.js';
import type { EntryRef } from '../types.js';
import type { CacheDecision, DecideEnv, HttpOutcome, RequestContext } from './decision.js';
import { revalidationToken } from './dispatch.js';
import { type FillDeps, fillDecision } from './fill.js';
import { hasCredentials, hostOf, primaryOf, variantOf } from './key.js';
import {
  parseRouteOptions,
  type ResponseCacheOptions,
  type RouteConfig,
  routeCache,
} from './options.js';
import { Replies } from './replies.js';
import { Revalidations } from './revalidate.js';

export type { CacheDecision, CacheFill, DecideEnv } from './decision.js';
export type { CredentialsMode, ResponseCacheOptions } from './options.js';
export { DEFAULT_CACHEABLE_STATUSES } from './options.js';

export interface ResponseCache<Raw = unknown> {
  /** The cache entries go to (for `invalidate`, `stats`). */
  readonly cache: Cache;
  decide(req: KeelRequest<Raw>, env?: DecideEnv): Promise<CacheDecision>;
}

/** The tag every entry of a path carries with `invalidateOnUnsafe`. */
export function pathTag(path: string): string {
  return `keel:path:${path}`;
}

const PASS: CacheDecision = { kind: 'pass', headers: {} };
const flightKey = (ref: EntryRef) => `h\n${ref.id}\n${ref.variant}`;

/** What the leader's lookup leaves to the fill: the stale copy, the generation, a store failure. */
interface FillStart {
  stale: CachedEntry | undefined;
  gen: string;
  storeDown: StoreFailureReason | undefined;
}

/** Build the framework-neutral response cache (the adapters' `responseCache()` call this). */
export function createResponseCache<Raw = unknown>(
  options: ResponseCacheOptions<Raw> = {},
): ResponseCache<Raw> {
  return new HttpResponseCache(options);
}

class HttpResponseCache<Raw> implements ResponseCache<Raw> {
  readonly cache: Cache;
  readonly #engine: CacheEngine;
  readonly #config: RouteConfig<Raw>;
  readonly #replies: Replies<Raw>;
  readonly #fill: FillDeps<Raw>;
  readonly #revalidations: Revalidations<Raw>;

  constructor(options: ResponseCacheOptions<Raw>) {
    this.cache = routeCache(options) ?? createCache();
    const engine = engineOf(this.cache);
    this.#engine = engine;
    this.#config = parseRouteOptions(options, engine.events);
    this.#replies = new Replies(this.#config.statusName, engine.counters, engine.events);
    this.#fill = { config: this.#config, engine, replies: this.#replies };
    this.#revalidations = new Revalidations(engine);
  }

  // An arrow property: adapters may call `decide` detached from the object.
  readonly decide = async (req: KeelRequest<Raw>, env: DecideEnv = {}): Promise<CacheDecision> => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return this.#unsafe(req);
    const token = revalidationToken(env.incoming);
    if (token !== undefined) {
      const pending = this.#revalidations.take(token);
      if (pending) return fillDecision(this.#fill, pending);
    }
    const ctx = this.#contextOf(req, env);
    return 'kind' in ctx ? ctx : this.#lookupAndDecide(ctx, 0);
  };

  /** Unsafe methods pass; with `invalidateOnUnsafe`, a success invalidates the path's entries. */
  #unsafe(req: KeelRequest<Raw>): CacheDecision {
    if (!this.#config.invalidateOnUnsafe) return PASS;
    const tag = pathTag(req.path);
    return {
      kind: 'pass',
      headers: {},
      after: async (code) => {
        if (code < 200 || code >= 400) return;
        try {
          await this.cache.invalidate({ tags: [tag] });
        } catch (error) {
          this.#engine.events.emit('cache.error', { operation: 'invalidate' }, { error });
        }
      },
    };
  }

  /** What keys this request, or the decision to leave the cache out of it. */
  #contextOf(req: KeelRequest<Raw>, env: DecideEnv): RequestContext<Raw> | CacheDecision {
    const { partition, credentials, ignoreCookies, identity, invalidateOnUnsafe } = this.#config;
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
        return this.#replies.bypass('credentials');
      }
      if (credentials === 'partition') shared = false;
    }
    const host = identity === undefined ? '' : hostOf(req, identity);
    if (host === undefined) {
      this.#engine.warnings.warn(
        'untrustedForwardedHost',
        'responseCache: a request carries X-Forwarded-Host or X-Forwarded-Proto from a peer that is not a trusted proxy, so it is not cached (the handler may believe those headers, and a client could then poison the entry of another host). Behind a proxy, pass identity: { trustProxy } as your framework trusts it',
      );
      return this.#replies.bypass('untrusted-forwarded');
    }
    const tagsOption = this.#config.tags;
    const routeTags = typeof tagsOption === 'function' ? tagsOption(req) : (tagsOption ?? []);
    const tags = invalidateOnUnsafe ? [...routeTags, pathTag(req.path)] : [...routeTags];
    return {
      req,
      id: hashKeyPart(primaryOf(req, this.#config.keyRules, part, host)),
      tags,
      variant: (vary) => variantOf(req.headers, vary),
      shared,
      env,
    };
  }

  /**
   * The L1 answers fresh hits at once. Otherwise one request per variant (the flight's leader)
   * looks the entry up and, on a miss, runs the handler; concurrent requests for it join and
   * share what it found or produced.
   */
  async #lookupAndDecide(ctx: RequestContext<Raw>, attempt: number): Promise<CacheDecision> {
    const engine = this.#engine;
    const guess = engine.guess(ctx.id, ctx.variant);
    const inL1 = engine.peek(guess, ctx.tags);
    if (inL1 && freshness(inL1.entry.meta, inL1.entry.ageMs).fresh) {
      return this.#replies.hit(ctx, inL1.entry, 'l1');
    }
    // HEAD has no body to store: answered from a stored GET, or by the handler.
    if (ctx.req.method === 'HEAD') return this.#head(ctx);
    const key = flightKey(guess);
    const current = engine.flight<HttpOutcome>(key);
    if (current) {
      engine.counters.collapsed++;
      const outcome = await engine.waitFlight(current);
      if (outcome === TIMED_OUT) {
        engine.counters.misses++;
        return this.#replies.pass({ fwd: 'miss' });
      }
      return this.#joined(ctx, outcome, attempt);
    }
    const flight = engine.startFlight<HttpOutcome>(key, ctx.id, ctx.tags);
    try {
      return await this.#lead(ctx, flight, key);
    } catch (error) {
      flight.resolve({ kind: 'not-stored' });
      engine.endFlight(key, flight);
      throw error;
    }
  }

  async #head(ctx: RequestContext<Raw>): Promise<CacheDecision> {
    const found = await this.#engine.lookup(ctx.id, ctx.variant, ctx.tags);
    if (found.kind === 'found') {
      const state = freshness(found.entry.meta, found.entry.ageMs);
      if (state.fresh) return this.#replies.hit(ctx, found.entry, found.layer);
      if (state.revalidate) return this.#replies.staleWhileRevalidating(ctx, found.entry);
    }
    if (found.kind === 'error') {
      const reason = storeFailureReason(found.error);
      this.#replies.storeBypass(ctx.id, reason);
      return this.#replies.pass({ fwd: 'miss', detail: reason });
    }
    this.#engine.counters.misses++;
    return this.#replies.pass({ fwd: 'miss' });
  }

  /** The flight's leader: look up, then answer from the cache or prepare the fill. */
  async #lead(
    ctx: RequestContext<Raw>,
    flight: Flight<HttpOutcome>,
    key: string,
  ): Promise<CacheDecision> {
    const found = await this.#engine.lookup(ctx.id, ctx.variant, ctx.tags);
    const start = this.#afterLookup(ctx, found, flight, key);
    if ('kind' in start) return start;
    this.#engine.counters.misses++;
    this.#engine.events.emit('cache.miss', { key: ctx.id, collapsed: false });
    return this.#gateAndFill(ctx, flight, key, found.ref, start);
  }

  /** A hit (fresh, or stale while one refresh runs) answers; anything else leads to a fill. */
  #afterLookup(
    ctx: RequestContext<Raw>,
    found: Lookup,
    flight: Flight<HttpOutcome>,
    key: string,
  ): CacheDecision | FillStart {
    const engine = this.#engine;
    if (found.kind === 'error') {
      const storeDown = storeFailureReason(found.error);
      this.#replies.storeBypass(ctx.id, storeDown);
      return { stale: undefined, gen: '', storeDown };
    }
    if (found.kind === 'miss') {
      if (found.marker !== 'uncacheable') {
        return { stale: undefined, gen: found.gen, storeDown: undefined };
      }
      flight.resolve({ kind: 'uncacheable' });
      engine.endFlight(key, flight);
      this.#replies.storeBypass(ctx.id, 'hit-for-miss');
      return this.#replies.pass({ fwd: 'miss', detail: 'hit-for-miss' });
    }
    const { entry } = found;
    const state = freshness(entry.meta, entry.ageMs);
    if (state.fresh) {
      flight.resolve({ kind: 'hit', ref: found.ref, entry, swr: false });
      engine.endFlight(key, flight);
      return this.#replies.hit(ctx, entry, found.layer);
    }
    if (state.revalidate && ctx.env.dispatch) {
      // Joiners get the stale copy too; the flight lasts until the refresh has landed.
      flight.resolve({ kind: 'hit', ref: found.ref, entry, swr: true });
      this.#revalidations.start(ctx, found.ref, entry, flight, key);
      return this.#replies.staleWhileRevalidating(ctx, entry);
    }
    const stale = state.ifError || state.revalidate ? entry : undefined;
    return { stale, gen: entry.gen, storeDown: undefined };
  }

  /** Across processes, one filler per variant (the gate); then the fill, with its tag versions. */
  async #gateAndFill(
    ctx: RequestContext<Raw>,
    flight: Flight<HttpOutcome>,
    key: string,
    ref: EntryRef,
    start: FillStart,
  ): Promise<CacheDecision> {
    const engine = this.#engine;
    const { stale, gen } = start;
    const end = (outcome: HttpOutcome) => {
      flight.resolve(outcome);
      engine.endFlight(key, flight);
    };
    const gate = start.storeDown
      ? ({ kind: 'lead', lock: undefined } as const)
      : await engine.gate(ref, ctx.variant, ctx.tags, 'wait');
    switch (gate.kind) {
      case 'found':
        engine.counters.collapsed++;
        end({ kind: 'stored', ref: gate.found.ref, entry: gate.found.entry });
        return this.#replies.respond(ctx.req, gate.found.entry, { fwd: 'miss', collapsed: true });
      case 'uncacheable':
        end({ kind: 'uncacheable' });
        return this.#replies.pass({ fwd: stale ? 'stale' : 'miss', detail: 'hit-for-miss' });
      case 'failed':
        end({ kind: 'failed', stale });
        return this.#replies.failed(ctx, stale);
    }
    const sequence = engine.sequence;
    const tagged = start.storeDown
      ? { failed: start.storeDown }
      : await engine.ensureTags(ctx.tags);
    // Tags not created (Redis full, busy, refusing…): the fill is not stored; say why.
    const storeDown = 'failed' in tagged ? tagged.failed : start.storeDown;
    const versions = 'versions' in tagged ? tagged.versions : undefined;
    const lock = gate.lock;
    const fill = { ctx, ref, gen, lock, versions, flight, key, stale, sequence, storeDown };
    return fillDecision(this.#fill, fill);
  }

  /** A request that joined another's flight: share its result when it is the same representation. */
  #joined(
    ctx: RequestContext<Raw>,
    outcome: HttpOutcome,
    attempt: number,
  ): CacheDecision | Promise<CacheDecision> {
    const counters = this.#engine.counters;
    switch (outcome.kind) {
      case 'hit':
      case 'stored':
        // Same variant under the entry's Vary: the same representation, safe to share.
        if (outcome.ref.variant === ctx.variant(outcome.ref.vary)) {
          if (outcome.kind === 'stored') {
            counters.misses++;
            this.#engine.events.emit('cache.miss', { key: ctx.id, collapsed: true });
            return this.#replies.respond(ctx.req, outcome.entry, { fwd: 'miss', collapsed: true });
          }
          return outcome.swr
            ? this.#replies.staleWhileRevalidating(ctx, outcome.entry)
            : this.#replies.hit(ctx, outcome.entry, 'store');
        }
        // Another variant: the Vary is known now, so this request leads its own variant.
        return attempt === 0
          ? this.#lookupAndDecide(ctx, 1)
          : this.#replies.pass({ fwd: 'vary-miss' });
      case 'failed':
        counters.misses++;
        return this.#replies.failed(ctx, outcome.stale);
      case 'uncacheable':
        counters.misses++;
        return this.#replies.pass({ fwd: 'miss', detail: 'hit-for-miss' });
      case 'not-stored':
        // The leader's client went away, a 304…: try once more as a leader.
        if (attempt === 0) return this.#lookupAndDecide(ctx, 1);
        counters.misses++;
        return this.#replies.pass({ fwd: 'miss' });
    }
  }
}
