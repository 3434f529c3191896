/**
 * `rateLimit(options)` for Express: one `check()` of @keel/rate-limit's limiter per request,
 * then either the rejection (429, or 503 under the `closed` failure policy) or `next()` with
 * the RateLimit headers set. The decision is left in `res.locals.rateLimit`.
 */
import {
  createRateLimiter,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimiterOptions,
  settleOnAnswer,
} from '@keel/rate-limit';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { toKeelRequest } from './request.js';
import { sendResponse, setHeaders } from './response.js';

export type { RateLimitDecision, RateLimiter, RateLimiterOptions } from '@keel/rate-limit';

/** Rate-limit middleware from limiter options, or from a limiter built with `createRateLimiter()`. */
export function rateLimit(options: RateLimiterOptions | RateLimiter = {}): RequestHandler {
  const limiter = 'check' in options ? options : createRateLimiter(options);
  return async function keelRateLimit(req: Request, res: Response, next: NextFunction) {
    let decision: RateLimitDecision;
    try {
      decision = await limiter.check(toKeelRequest(req));
    } catch (error) {
      return next(error);
    }
    setHeaders(res, decision.headers);
    if (decision.response) return sendResponse(res, decision.response);
    res.locals.rateLimit = decision;
    settleOnAnswer(decision, res);
    next();
  };
}
