/**
 * The same small session app on Express (express-session) and Koa (koa-session), for the
 * scenario lists that run against both: log in (regenerating the id), read, change a field
 * (optionally slowly), "remember me", log out, list and end a user's sessions. Each app listens
 * on an ephemeral loopback port, so concurrent requests share one server.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as keelExpress from '@keel/express';
import type * as keelKoa from '@keel/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import express from 'express';
import session from 'express-session';
import Koa from 'koa';
import koaSession from 'koa-session';
import request from 'supertest';

export const SESSION_MAX_AGE_MS = 60_000;
export const REMEMBER_MS = 30 * 24 * 3600 * 1000;

export interface SessionApp {
  url: string;
  server: Server;
  /** The id a session cookie names (from a `Cookie` header value). */
  sidOf(cookie: string): string;
  close(): Promise<void>;
}

export interface AppOptions {
  rolling?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const userOf = (s: Record<string, unknown>) => (typeof s.user === 'string' ? s.user : undefined);

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

export async function expressSessionApp(
  store: keelExpress.SessionStore | session.Store,
  options: AppOptions = {},
): Promise<SessionApp> {
  const app = express();
  app.use(express.json());
  app.use(
    session({
      store,
      secret: 'keel-test-secret',
      resave: false,
      saveUninitialized: false,
      rolling: options.rolling ?? false,
      cookie: { maxAge: SESSION_MAX_AGE_MS },
    }),
  );
  type Bag = Record<string, unknown>;
  const bag = (req: express.Request) => req.session as unknown as Bag;
  app.post('/login', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error);
      bag(req).user = String(req.body?.user);
      res.json({ ok: true });
    });
  });
  app.get('/me', (req, res) => {
    const { cookie: _, ...data } = bag(req);
    res.json(data);
  });
  app.post('/set/:field', async (req, res) => {
    const delay = Number(req.query.delayMs ?? 0);
    if (delay > 0) await sleep(delay);
    bag(req)[String(req.params.field)] = req.body?.value ?? true;
    res.json({ ok: true });
  });
  app.post('/remember', (req, res) => {
    req.session.cookie.maxAge = REMEMBER_MS;
    res.json({ ok: true });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
  });
  app.get('/sessions', async (req, res) => {
    const user = userOf(bag(req));
    if (!(store instanceof keelExpress.SessionStore) || !user) return void res.json([]);
    res.json((await store.listForUser(user)).map((s) => s.id));
  });
  app.post('/logout-everywhere', async (req, res) => {
    const user = userOf(bag(req));
    if (!(store instanceof keelExpress.SessionStore) || !user) return void res.json({ ended: 0 });
    res.json({ ended: await store.destroyAllForUser(user, { exceptId: req.sessionID }) });
  });
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
  const server = createServer(app);
  const { url, close } = await listen(server);
  return {
    url,
    server,
    close,
    sidOf: (cookie) => {
      const raw = /connect\.sid=([^;]+)/.exec(cookie)?.[1] ?? '';
      const value = decodeURIComponent(raw);
      return value.startsWith('s:') ? value.slice(2, value.lastIndexOf('.')) : value;
    },
  };
}

export async function koaSessionApp(
  store: keelKoa.SessionStore,
  options: AppOptions = {},
): Promise<SessionApp> {
  const app = new Koa();
  app.keys = ['keel-test-secret'];
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const e = error as { status?: number; code?: string };
      ctx.status = e.status ?? 500;
      ctx.body = { code: e.code ?? 'ERROR' };
    }
  });
  app.use(
    koaSession(
      { store, key: 'koa.sess', maxAge: SESSION_MAX_AGE_MS, rolling: options.rolling ?? false },
      app,
    ),
  );
  app.use(bodyParser());
  type Bag = Record<string, unknown>;
  const bag = (ctx: Koa.Context) => ctx.session as unknown as Bag;
  const router = new Router();
  router.post('/login', async (ctx) => {
    await ctx.session!.regenerate();
    bag(ctx).user = String((ctx.request.body as { user?: unknown }).user);
    ctx.body = { ok: true };
  });
  router.get('/me', (ctx) => {
    ctx.body = ctx.session!.toJSON();
  });
  router.post('/set/:field', async (ctx) => {
    const delay = Number(ctx.query.delayMs ?? 0);
    if (delay > 0) await sleep(delay);
    bag(ctx)[ctx.params.field!] = (ctx.request.body as { value?: unknown }).value ?? true;
    ctx.body = { ok: true };
  });
  router.post('/remember', (ctx) => {
    ctx.session!.maxAge = REMEMBER_MS;
    ctx.body = { ok: true };
  });
  router.post('/logout', (ctx) => {
    ctx.session = null;
    ctx.body = { ok: true };
  });
  router.get('/sessions', async (ctx) => {
    const user = userOf(bag(ctx));
    ctx.body = user ? (await store.listForUser(user)).map((s) => s.id) : [];
  });
  router.post('/logout-everywhere', async (ctx) => {
    const user = userOf(bag(ctx));
    const exceptId = ctx.session!.externalKey;
    ctx.body = {
      ended: user ? await store.destroyAllForUser(user, exceptId ? { exceptId } : {}) : 0,
    };
  });
  app.use(router.routes());
  const server = createServer(app.callback());
  const { url, close } = await listen(server);
  return {
    url,
    server,
    close,
    sidOf: (cookie) => /koa\.sess=([^;]+)/.exec(cookie)?.[1] ?? '',
  };
}

/** Cookies across requests, as a browser keeps them (name → value, empty value = removed). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  update(setCookie: string[] | string | undefined): void {
    for (const line of [setCookie ?? []].flat()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  clone(): CookieJar {
    const copy = new CookieJar();
    copy.update([...this.#cookies].map(([name, value]) => `${name}=${value}`));
    return copy;
  }
}

/** One supertest request against the running app, keeping cookies in `jar`. */
export async function call(
  app: SessionApp,
  jar: CookieJar,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; setCookie: string[] }> {
  const agent = request(app.url);
  let test = method === 'GET' ? agent.get(path) : agent.post(path);
  if (jar.header) test = test.set('Cookie', jar.header);
  const response = await (body === undefined ? test : test.send(body as object));
  const setCookie = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
  jar.update(setCookie);
  return { status: response.status, body: response.body, setCookie };
}
