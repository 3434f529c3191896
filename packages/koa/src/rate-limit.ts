/**
 * `rateLimit(options)` for Koa: one `check()` of @keel/rate-limit's limiter per request,
 * then either the rejection (429, or 503 under the `closed` failure policy) or `next()` with
 * the RateLimit headers set. The decision is left in `ctx.state.rateLimit`. Errors are rethrown.
 */
import {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  settleOnAnswer,
} from '@keel/rate-limit';
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
    // The final status is known once Koa has answered, after its own error handling.
    settleOnAnswer(decision, ctx.res);
    return next();
  };
}
