/**
 * Koa context → KeelRequest. The one place that knows where Koa (and its routers and body
 * parsers) keep things.
 */
import type { KeelRequest } from '@keel/core';
import type { Context } from 'koa';

/** Fields that @koa/router and @koa/bodyparser add to the context/request. */
interface KoaExtras {
  _matchedRoute?: string | RegExp;
  routePath?: string;
  request: { body?: unknown; rawBody?: unknown };
}

export function toKeelRequest(ctx: Context): KeelRequest<Context> {
  const extras = ctx as unknown as KoaExtras;
  const route = extras.routePath ?? extras._matchedRoute;
  const body = extras.request.body;
  const rawBody = extras.request.rawBody;
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
    bodyParsed: 'body' in extras.request,
    raw: ctx,
  };
}
