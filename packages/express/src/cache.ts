/**
 * `responseCache()` for Express: RFC 9111 response caching from @keel/cache. Every decision is
 * the core's; this translates the request, answers hits, and hands the captured response of a
 * miss back. The one Express-specific piece is stale-if-error: a 5xx (or a handler past
 * `originTimeoutMs`) is swapped for the stale copy before its first byte leaves.
 */
import {
  type CacheFill,
  createResponseCache,
  DEFAULT_STORED_HEADERS,
  dispatchRequest,
  type RequestListener,
  type ResponseCache,
  type ResponseCacheOptions,
} from '@keel/cache';
import type { KeelResponse } from '@keel/core';
import type { Application, Request, RequestHandler, Response } from 'express';
import { toKeelRequest } from './request.js';
import { captureResponse, sendResponse, setHeaders } from './response.js';

/** Options of the Express middleware: `partition(req)` and `tags(req)` see Express's `req` as `req.raw`. */
export type ExpressResponseCacheOptions = ResponseCacheOptions<Request>;

/** The application at the root of `req` (sub-apps know their parent), for background refreshes. */
function rootApp(req: Request): RequestListener {
  let app = req.app as Application & { parent?: Application };
  while (app.parent) app = app.parent as Application & { parent?: Application };
  return (request, response) => app(request, response);
}

/**
 * Cache GET (and HEAD) responses of the routes it is mounted on, e.g.
 * `app.get('/catalogue', responseCache({ cache, ttlMs: 30_000, tags: ['catalogue'] }), handler)`.
 * Mount it after authentication and before the handler.
 */
export function responseCache(
  options: ExpressResponseCacheOptions | ResponseCache<Request> = {},
): RequestHandler {
  const engine = 'decide' in options ? options : createResponseCache(options);
  return async function keelResponseCache(req: Request, res: Response, next) {
    let decision: Awaited<ReturnType<typeof engine.decide>>;
    try {
      decision = await engine.decide(toKeelRequest(req), {
        incoming: req,
        dispatch: (init) => dispatchRequest(rootApp(req), init),
      });
    } catch (error) {
      return next(error);
    }
    if (decision.kind === 'respond') return sendResponse(res, decision.response);
    setHeaders(res, decision.headers);
    if (decision.kind === 'fill') {
      const { fill } = decision;
      if (fill.canFallBack) serveStaleOnError(res, fill);
      void captureResponse(res, { maxBytes: fill.maxBytes }).then(fill.complete);
    } else if (decision.after) {
      const after = decision.after;
      // Invalidate before the response leaves, so the client's next GET sees the change.
      void captureResponse(res, { maxBytes: 0, beforeEnd: () => after(res.statusCode) });
    }
    next();
  };
}

/**
 * Watch the response's first write: a 5xx status (or nothing written within `timeoutMs`) is
 * replaced by the stale copy, and whatever the handler writes afterwards is discarded.
 */
function serveStaleOnError(res: Response, fill: CacheFill): void {
  const { writeHead, write, end, setHeader } = res;
  let state: 'open' | 'origin' | 'stale' = 'open';
  let own = false;
  const substitute = (stale: KeelResponse) => {
    state = 'stale';
    own = true;
    for (const name of [...DEFAULT_STORED_HEADERS, 'content-length']) res.removeHeader(name);
    res.statusCode = stale.status;
    for (const [name, value] of Object.entries(stale.headers)) setHeader.call(res, name, value);
    (end as (chunk: Buffer) => Response).call(
      res,
      Buffer.from(stale.body.buffer, stale.body.byteOffset, stale.body.byteLength),
    );
    own = false;
  };
  const swallow = (): boolean => {
    if (own) return false;
    if (state === 'open') {
      state = 'origin';
      clearTimeout(timer);
      const stale = res.statusCode >= 500 ? fill.fallback(res.statusCode) : undefined;
      if (stale) substitute(stale);
    }
    return state === 'stale';
  };
  res.writeHead = function keelWriteHead(this: Response, ...args: unknown[]) {
    if (state === 'open' && typeof args[0] === 'number') this.statusCode = args[0];
    if (swallow()) return this;
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as Response['writeHead'];
  res.write = function keelWrite(this: Response, ...args: unknown[]) {
    if (swallow()) return true;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Response['write'];
  res.end = function keelEnd(this: Response, ...args: unknown[]) {
    if (swallow()) return this;
    return (end as (...a: unknown[]) => Response).apply(this, args);
  } as Response['end'];
  res.setHeader = function keelSetHeader(this: Response, ...args: unknown[]) {
    if (state === 'stale' && !own) return this;
    return (setHeader as (...a: unknown[]) => Response).apply(this, args);
  } as Response['setHeader'];
  const timer =
    fill.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          if (state !== 'open' || res.headersSent) return;
          const stale = fill.fallback('timeout');
          if (stale) substitute(stale);
        }, fill.timeoutMs);
  res.once('close', () => clearTimeout(timer));
}
