/**
 * `idempotency()` for Koa: Idempotency-Key handling per draft-ietf-httpapi-idempotency-key-header.
 * All decisions are @keel/idempotency's; this only translates the context, applies the decision
 * and hands the captured response back.
 */
import { Stream } from 'node:stream';
import type { CaptureResult } from '@keel/core';
import { createIdempotency, type IdempotencyOptions } from '@keel/idempotency';
import type { Context, Middleware } from 'koa';
import { toKeelRequest } from './request.js';
import { captureResponse, sendResponse } from './response.js';

/** Options of the Koa middleware: `scope(req)` and `fingerprint(req)` see the context as `req.raw`. */
export type KoaIdempotencyOptions = IdempotencyOptions<Context>;

/**
 * Make retried POST/PATCH requests run once: mount after the body parser and authentication,
 * e.g. `router.post('/orders', auth, idempotency({ scope: (req) => req.raw.state.user.id, store }), handler)`.
 */
export function idempotency(options: KoaIdempotencyOptions): Middleware {
  const engine = createIdempotency(options);
  return async function keelIdempotency(ctx, next) {
    const decision = await engine.begin(toKeelRequest(ctx));
    if (decision.kind === 'respond') return sendResponse(ctx, decision.response);
    if (decision.kind === 'pass') return next();
    const { claim } = decision;
    try {
      await next();
    } catch (error) {
      await engine.abandon(claim, error);
      throw error;
    }
    const finish = (captured: CaptureResult) => engine.finish(claim, captured);
    const captured = captureResponse(ctx, {
      maxBytes: engine.maxResponseBytes,
      beforeEnd: finish,
    }).then(finish);
    // A buffered body is stored before Koa sends it; a stream is stored as it ends (after we return).
    if (!(ctx.body instanceof Stream)) await captured;
  };
}
