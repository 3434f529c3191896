/**
 * Real Express and Koa apps for the rate-limit scenarios: a global limiter on every route and,
 * optionally, a stricter one on `POST /login`, so every scenario runs unchanged against both
 * frameworks.
 *
 * Routes: `GET /ok` → 200 JSON; `GET /status/<code>` → that status; `GET /throw` → the handler
 * throws (Express `next(err)`, Koa throws); `POST /login` → 200, or 401 when `?fail=1`.
 */
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import type { RateLimiter, RateLimiterOptions } from '@keel/rate-limit';
import express from 'express';
import Koa from 'koa';
import type request from 'supertest';

export type Server = Parameters<typeof request>[0];

export interface AppLimiters {
  global?: RateLimiterOptions | RateLimiter;
  login?: RateLimiterOptions | RateLimiter;
}

export type AppFactory = (limiters: AppLimiters) => Server;

export const expressApp: AppFactory = ({ global, login }) => {
  const app = express();
  if (global) app.use(keelExpress.rateLimit(global));
  app.get('/ok', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/status/:code', (req, res) => {
    res.status(Number(req.params.code)).json({ status: Number(req.params.code) });
  });
  app.get('/throw', () => {
    throw new Error('handler failed');
  });
  const loginHandler: express.RequestHandler = (req, res) => {
    if (req.query.fail) res.status(401).json({ ok: false });
    else res.json({ ok: true });
  };
  if (login) app.post('/login', keelExpress.rateLimit(login), loginHandler);
  else app.post('/login', loginHandler);
  app.use(
    (error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res
        .status(500)
        .json({ error: (error as Error).message, code: (error as { code?: string }).code });
    },
  );
  return app;
};

export const koaApp: AppFactory = ({ global, login }) => {
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = 500;
      ctx.body = { error: (error as Error).message, code: (error as { code?: string }).code };
    }
  });
  if (global) app.use(keelKoa.rateLimit(global));
  const loginLimit = login ? keelKoa.rateLimit(login) : undefined;
  app.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/login') {
      const handler = async () => {
        if (ctx.query.fail) {
          ctx.status = 401;
          ctx.body = { ok: false };
        } else {
          ctx.body = { ok: true };
        }
      };
      return loginLimit ? loginLimit(ctx, handler) : handler();
    }
    return next();
  });
  app.use((ctx) => {
    if (ctx.path === '/ok') {
      ctx.body = { ok: true };
    } else if (ctx.path.startsWith('/status/')) {
      const code = Number(ctx.path.slice('/status/'.length));
      ctx.status = code;
      ctx.body = { status: code };
    } else if (ctx.path === '/throw') {
      throw new Error('handler failed');
    }
  });
  return app.callback();
};

export const frameworks: [string, AppFactory][] = [
  ['express', expressApp],
  ['koa', koaApp],
];
