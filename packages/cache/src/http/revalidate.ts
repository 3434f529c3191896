/**
 * Stale-while-revalidate's background refresh: a copy of the request goes through the
 * application again (`dispatch`), and when it reaches the response cache, `take(token)` hands it
 * the fill prepared here — so the refresh runs the route's own handler, middleware and all.
 */
import { randomBytes } from 'node:crypto';
import type { Lock } from '@keel/lock';
import type { CacheEngine, Flight } from '../engine.js';
import type { CachedEntry } from '../entry.js';
import type { EntryRef } from '../types.js';
import type { FillContext, HttpOutcome, RequestContext } from './decision.js';

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

/** A background revalidation still running after this long is abandoned, ms. */
const REFRESH_TIMEOUT_MS = 30_000;

export class Revalidations<Raw> {
  readonly #engine: CacheEngine;
  /** Token → the fill its dispatched copy takes over. */
  readonly #pending = new Map<string, FillContext<Raw>>();

  constructor(engine: CacheEngine) {
    this.#engine = engine;
  }

  /** The fill prepared for the dispatched request carrying `token`; it now owns flight and lock. */
  take(token: string): FillContext<Raw> | undefined {
    const pending = this.#pending.get(token);
    if (pending) this.#pending.delete(token);
    return pending;
  }

  /**
   * Refresh a stale entry in the background: once per variant in this process (the caller's
   * flight lasts until it is done) and per cluster (the lock; another holder means skip).
   */
  start(
    ctx: RequestContext<Raw>,
    ref: EntryRef,
    entry: CachedEntry,
    flight: Flight<HttpOutcome>,
    key: string,
  ): void {
    const dispatch = ctx.env.dispatch;
    if (!dispatch) return;
    const token = randomBytes(12).toString('base64url');
    const engine = this.#engine;
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
        const gen = entry.gen;
        const fill = { ctx, ref, gen, lock, versions, flight, key, stale: undefined, sequence };
        this.#pending.set(token, fill);
        registered = true;
        await dispatch(dispatchInit(ctx, token));
      } catch (error) {
        engine.events.emit('cache.error', { operation: 'revalidate' }, { error });
      } finally {
        // Handed over: the copy reached the response cache, whose fill now owns flight and lock.
        const handedOver = registered && !this.#pending.has(token);
        this.#pending.delete(token);
        if (!handedOver) {
          flight.resolve({ kind: 'not-stored' });
          engine.release(lock);
          engine.endFlight(key, flight);
        }
      }
    })();
  }
}

function dispatchInit<Raw>(ctx: RequestContext<Raw>, token: string) {
  const { req } = ctx;
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!NOT_FORWARDED.has(name)) headers[name] = value;
  }
  return {
    url: req.search === '' ? req.path : `${req.path}?${req.search}`,
    headers,
    remoteAddress: req.remoteAddress,
    token,
    timeoutMs: REFRESH_TIMEOUT_MS,
  };
}
