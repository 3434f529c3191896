/**
 * Koa context → KeelRequest. The one place that knows where Koa (and its routers and body
 * parsers) keep things.
 */
import type { KeelRequest } from '@keel/core';
import type { Context, Request } from 'koa';

/**
 * The context with the fields @koa/router adds. An intersection, not a plain interface of
 * optional fields: TypeScript then checks the assignment from `Context` without a cast.
 */
type RoutedContext = Context & { _matchedRoute?: string | RegExp; routePath?: string };

/** The request with the fields @koa/bodyparser adds (an intersection for the same reason). */
type ParsedRequest = Request & { body?: unknown; rawBody?: unknown };

export function toKeelRequest(ctx: Context): KeelRequest<Context> {
  const routed: RoutedContext = ctx;
  const request: ParsedRequest = ctx.request;
  const route = routed.routePath ?? routed._matchedRoute;
  const body = request.body;
  const rawBody = request.rawBody;
  return {
    method: ctx.method,
    path: ctx.path,
    route: typeof route === 'string' ? route : undefined,
    search: ctx.querystring,
    headers: ctx.headers,
    remoteAddress: ctx.req.socket?.remoteAddress,
    body,
    rawBody: Buffer.isBuffer(body)
      ? body
      : typeof rawBody === 'string'
        ? Buffer.from(rawBody)
        : Buffer.isBuffer(rawBody)
          ? rawBody
          : undefined,
    bodyParsed: 'body' in request,
    raw: ctx,
  };
}
