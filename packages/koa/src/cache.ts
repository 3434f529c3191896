/**
 * `responseCache()` for Koa: RFC 9111 response caching from @keel/cache. Every decision is the
 * core's; this translates the context, answers hits, and hands the captured response of a miss
 * back. Errors are rethrown (after a stale copy was considered: stale-if-error).
 */
import {
  createResponseCache,
  DEFAULT_STORED_HEADERS,
  dispatchRequest,
  type RequestListener,
  type ResponseCache,
  type ResponseCacheOptions,
} from '@keel/cache';
import type { KeelResponse } from '@keel/core';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import { toKeelRequest } from './request.js';
import { captureResponse, sendResponse, setHeaders } from './response.js';

/** Options of the Koa middleware: `partition(req)` and `tags(req)` see the context as `req.raw`. */
export type KoaResponseCacheOptions = ResponseCacheOptions<Context>;

const listeners = new WeakMap<Koa, RequestListener>();

/** The app's request listener, for background refreshes (built once per app). */
function listenerOf(app: Koa): RequestListener {
  let listener = listeners.get(app);
  if (!listener) {
    listener = app.callback() as RequestListener;
    listeners.set(app, listener);
  }
  return listener;
}

/** Answer with the stale copy instead of what the handler left (an error or nothing yet). */
function sendStale(ctx: Context, stale: KeelResponse): void {
  for (const name of [...DEFAULT_STORED_HEADERS, 'content-length']) ctx.remove(name);
  sendResponse(ctx, stale);
}

const TIMEOUT = Symbol('timeout');

/**
 * Cache GET (and HEAD) responses of the routes it is mounted on, e.g.
 * `router.get('/catalogue', responseCache({ cache, ttlMs: 30_000, tags: ['catalogue'] }), handler)`.
 */
export function responseCache(
  options: KoaResponseCacheOptions | ResponseCache<Context> = {},
): Middleware {
  const engine = 'decide' in options ? options : createResponseCache(options);
  return async function keelResponseCache(ctx, next) {
    const decision = await engine.decide(toKeelRequest(ctx), {
      incoming: ctx.req,
      dispatch: (init) => dispatchRequest(listenerOf(ctx.app), init),
    });
    if (decision.kind === 'respond') return sendResponse(ctx, decision.response);
    setHeaders(ctx, decision.headers);
    if (decision.kind === 'pass') {
      await next();
      // Invalidate before Koa sends the response, so the client's next GET sees the change.
      if (decision.after) await decision.after(ctx.status);
      return;
    }
    const { fill } = decision;
    const running = next();
    try {
      if (fill.timeoutMs !== undefined) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<typeof TIMEOUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMEOUT), fill.timeoutMs);
        });
        const first = await Promise.race([running, timeout]).finally(() => clearTimeout(timer));
        const stale = first === TIMEOUT ? fill.fallback('timeout') : undefined;
        if (stale) {
          running.catch(() => {}); // the handler goes on; its outcome no longer matters
          return sendStale(ctx, stale);
        }
      }
      await running;
    } catch (error) {
      const stale = fill.fallback('error');
      if (stale) return sendStale(ctx, stale);
      fill.fail(error);
      throw error;
    }
    if (ctx.status >= 500) {
      const stale = fill.fallback(ctx.status);
      if (stale) return sendStale(ctx, stale);
    }
    void captureResponse(ctx, { maxBytes: fill.maxBytes }).then(fill.complete);
  };
}
