/**
 * One small app per framework with every HTTP feature on one Redis client, for the failover
 * scenarios: a rate limit on everything, sessions (`POST /login`, `GET /me`), an idempotent
 * `POST /orders` whose handler counts its runs per key, and a per-user cached `GET /profile`.
 * Both apps listen on loopback ports, so concurrent requests share a server.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCache } from '@keel/cache';
import type { KeelRequest, RedisClient } from '@keel/core';
import * as keelExpress from '@keel/express';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import * as keelKoa from '@keel/koa';
import { createRedisStore } from '@keel/rate-limit';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import express from 'express';
import session from 'express-session';
import Koa from 'koa';
import koaSession from 'koa-session';

export interface FailoverAppOptions {
  client: RedisClient;
  prefix: string;
  /** `waitForReplicas` for idempotency and sessions (the lock takes its own). */
  waitForReplicas?: number;
}

export interface FailoverApp {
  url: string;
  /** Handler runs per Idempotency-Key. */
  runs: Map<string, number>;
  /** The cookie the session middleware sets. */
  cookieName: string;
  close(): Promise<void>;
}

export type FailoverAppFactory = (options: FailoverAppOptions) => Promise<FailoverApp>;

/** The user a request's bearer credential names: the cache partitions by it. */
const userOf = (req: KeelRequest) => req.headers.authorization?.toString().slice(7) || undefined;

function parts({ client, prefix, waitForReplicas }: FailoverAppOptions) {
  const durable = waitForReplicas ? { waitForReplicas } : {};
  return {
    rateLimitStore: createRedisStore({ client, prefix }),
    idempotencyStore: createRedisIdempotencyStore({ client, prefix, ...durable }),
    cache: createCache({ client, prefix }),
    sessionOptions: { client, prefix: `${prefix}sess:`, indexPrefix: prefix, ...durable },
  };
}

const cacheOptions = {
  ttlMs: 60_000,
  credentials: 'partition' as const,
  partition: userOf,
};

async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function countRun(runs: Map<string, number>, key: string | undefined): number {
  const run = (runs.get(key ?? '') ?? 0) + 1;
  runs.set(key ?? '', run);
  return run;
}

export const expressFailoverApp: FailoverAppFactory = async (options) => {
  const p = parts(options);
  const runs = new Map<string, number>();
  const app = express();
  app.use(express.json());
  app.use(keelExpress.rateLimit({ store: p.rateLimitStore, limit: 1_000_000, windowMs: 60_000 }));
  app.use(
    session({
      store: new keelExpress.SessionStore(p.sessionOptions),
      secret: 'keel-failover',
      resave: false,
      saveUninitialized: false,
    }),
  );
  app.post('/login', async (req, res, next) => {
    try {
      (req.session as unknown as { user: string }).user = String(req.body?.user);
      await keelExpress.saveSession(req);
      res.json({ user: req.body?.user });
    } catch (error) {
      next(error);
    }
  });
  app.get('/me', (req, res) => {
    res.json({ user: (req.session as unknown as { user?: string }).user ?? null });
  });
  app.post(
    '/orders',
    keelExpress.idempotency({ store: p.idempotencyStore, scope: () => 'failover' }),
    (req, res) => {
      res.status(201).json({ run: countRun(runs, req.get('idempotency-key')) });
    },
  );
  app.get(
    '/profile',
    keelExpress.responseCache({ ...cacheOptions, cache: p.cache }),
    (req, res) => {
      res
        .set('cache-control', 'private, max-age=60')
        .json({ user: req.get('authorization')?.slice(7) });
    },
  );
  app.use(
    (
      error: { status?: number; code?: string },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(error.status ?? 500).json({ code: error.code ?? 'ERROR' });
    },
  );
  const { url, close } = await listen(createServer(app));
  return { url, runs, cookieName: 'connect.sid', close };
};

export const koaFailoverApp: FailoverAppFactory = async (options) => {
  const p = parts(options);
  const runs = new Map<string, number>();
  const app = new Koa();
  app.keys = ['keel-failover'];
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const e = error as { status?: number; code?: string };
      ctx.status = e.status ?? 500;
      ctx.body = { code: e.code ?? 'ERROR' };
    }
  });
  app.use(keelKoa.rateLimit({ store: p.rateLimitStore, limit: 1_000_000, windowMs: 60_000 }));
  const store = new keelKoa.SessionStore(p.sessionOptions);
  app.use(koaSession({ store, key: 'koa.sess', maxAge: 60_000 }, app));
  app.use(bodyParser());
  const router = new Router();
  router.post('/login', (ctx) => {
    const user = String((ctx.request.body as { user?: unknown }).user);
    (ctx.session as unknown as { user: string }).user = user;
    ctx.body = { user };
  });
  router.get('/me', (ctx) => {
    ctx.body = { user: (ctx.session as unknown as { user?: string }).user ?? null };
  });
  router.post(
    '/orders',
    keelKoa.idempotency({ store: p.idempotencyStore, scope: () => 'failover' }),
    (ctx) => {
      ctx.status = 201;
      ctx.body = { run: countRun(runs, ctx.get('idempotency-key')) };
    },
  );
  router.get('/profile', keelKoa.responseCache({ ...cacheOptions, cache: p.cache }), (ctx) => {
    ctx.set('cache-control', 'private, max-age=60');
    ctx.body = { user: ctx.get('authorization').slice(7) };
  });
  app.use(router.routes());
  const { url, close } = await listen(createServer(app.callback()));
  return { url, runs, cookieName: 'koa.sess', close };
};

export const frameworks: [string, FailoverAppFactory][] = [
  ['express', expressFailoverApp],
  ['koa', koaFailoverApp],
];
