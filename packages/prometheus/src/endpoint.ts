/**
 * The scrape endpoint, one line per framework:
 *
 * ```ts
 * app.get('/metrics', metricsHandler(registry));            // Express (or node:http)
 * router.get('/metrics', koaMetricsHandler(registry));      // Koa with @koa/router
 * ```
 *
 * Serve it where only the scraper reaches it (an internal port, or behind authentication):
 * counters reveal traffic patterns even though they carry no personal data.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** A Node `(req, res, next?)` handler: Express passes collection errors to `next`. */
export type MetricsHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/** Answers with the registry's text exposition (`registry.contentType`). */
export function metricsHandler(registry: Registry): MetricsHandler {
  return (_req, res, next) => {
    registry.metrics().then(
      (body) => {
        res.statusCode = 200;
        res.setHeader('content-type', registry.contentType);
        res.end(body);
      },
      (error: unknown) => {
        if (next) return next(error);
        res.statusCode = 500;
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end('metrics collection failed\n');
      },
    );
  };
}

/** The part of a Koa context the handler uses. */
export interface KoaMetricsContext {
  set(field: string, value: string): void;
  body: unknown;
}

/** Koa middleware answering with the registry's text exposition; errors are rethrown. */
export function koaMetricsHandler(registry: Registry): (ctx: KoaMetricsContext) => Promise<void> {
  return async (ctx) => {
    const body = await registry.metrics();
    ctx.set('content-type', registry.contentType);
    ctx.body = body;
  };
}
