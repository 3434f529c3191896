/**
 * `idempotency()` for Express: Idempotency-Key handling per draft-ietf-httpapi-idempotency-key-header.
 * All decisions are @keel/idempotency's; this only translates the request, applies the decision
 * and hands the captured response back.
 */
import type { CaptureResult } from '@keel/core';
import { createIdempotency, type IdempotencyOptions } from '@keel/idempotency';
import type { Request, RequestHandler } from 'express';
import { toKeelRequest } from './request.js';
import { captureResponse, sendResponse } from './response.js';

/** Options of the Express middleware: `scope(req)` and `fingerprint(req)` see Express's `req` as `req.raw`. */
export type ExpressIdempotencyOptions = IdempotencyOptions<Request>;

/**
 * Make retried POST/PATCH requests run once: mount after the body parser and authentication,
 * e.g. `app.post('/orders', auth, idempotency({ scope: (req) => req.raw.user.id, store }), handler)`.
 */
export function idempotency(options: ExpressIdempotencyOptions): RequestHandler {
  const engine = createIdempotency(options);
  return async function keelIdempotency(req, res, next) {
    try {
      const decision = await engine.begin(toKeelRequest(req));
      if (decision.kind === 'respond') return sendResponse(res, decision.response);
      if (decision.kind === 'execute') {
        const { claim } = decision;
        // The record is completed before the response's last bytes leave (beforeEnd); the
        // promise only matters when the client disconnects first (finish is then a no-op).
        void captureResponse(res, {
          maxBytes: engine.maxResponseBytes,
          beforeEnd: (captured: CaptureResult) => engine.finish(claim, captured),
        }).then((captured) => engine.finish(claim, captured));
      }
      next();
    } catch (error) {
      next(error);
    }
  };
}
