/**
 * `rateLimit(options)` for Koa: one `check()` of @keel/rate-limit's limiter per request,
 * then either the rejection (429, or 503 under the `closed` failure policy) or `next()` with
 * the RateLimit headers set. The decision is left in `ctx.state.rateLimit`. Errors are rethrown.
 */
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from '@keel/rate-limit';
import type { Context, Middleware, Next } from 'koa';
import { toKeelRequest } from './request.js';
import { sendResponse, setHeaders } from './response.js';

export type { RateLimitDecision, RateLimiter, RateLimiterOptions } from '@keel/rate-limit';

/** Rate-limit middleware from limiter options, or from a limiter built with `createRateLimiter()`. */
export function rateLimit(options: RateLimiterOptions | RateLimiter = {}): Middleware {
  const limiter = 'check' in options ? options : createRateLimiter(options);
  return async function keelRateLimit(ctx: Context, next: Next) {
    const decision = await limiter.check(toKeelRequest(ctx));
    setHeaders(ctx, decision.headers);
    if (decision.response) return sendResponse(ctx, decision.response);
    ctx.state.rateLimit = decision;
    if (decision.needsSettle) {
      // The final status is known once Koa has answered (after its own error handling):
      // 'finish' when the response went out, 'close' first when the client went away (0).
      const res = ctx.res;
      const onResponseDone = () => {
        res.off('finish', onResponseDone);
        res.off('close', onResponseDone);
        void decision.settle(res.writableFinished ? res.statusCode : 0);
      };
      res.once('finish', onResponseDone);
      res.once('close', onResponseDone);
    }
    return next();
  };
}
