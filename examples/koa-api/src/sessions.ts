/**
 * Session login for the Koa example: koa-session with Keel's `SessionStore` as its external
 * store (Redis in Redis mode, so every instance shares sessions and they survive restarts;
 * memory otherwise), plus the "my sessions" page and "log out everywhere".
 *
 * Routes: `GET /account` (the page), `POST /account/login|logout|logout-everywhere` (its forms,
 * answered with a redirect), and for API clients `GET /sessions`, `POST /logout`,
 * `POST /logout-everywhere` (JSON).
 */
import {
  checkPassword,
  type Data,
  type ExampleDeps,
  renderAccountPage,
  SESSION_ABSOLUTE_MS,
  SESSION_IDLE_MS,
  type SessionUser,
  sessionSecret,
  sessionUserId,
} from '@keel/example-shared';
import { SessionStore } from '@keel/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import session from 'koa-session';

export interface Sessions {
  store: SessionStore;
  /** koa-session, configured: mount before the routes. */
  middleware: Middleware;
  /** The account page, its forms and the JSON session endpoints (with their own body parser). */
  routes: Middleware;
}

/** The signed-in user of this request's session, if any. */
export function sessionUser(ctx: Context): SessionUser | undefined {
  const user = (ctx.session as unknown as { user?: SessionUser } | null)?.user;
  return user && typeof user.username === 'string' ? user : undefined;
}

/**
 * Sign `user` in: a fresh session id (no fixation), then the user in it. koa-session stores it
 * when the request's middleware returns, before Koa writes any of the response: a store that
 * cannot write (Redis full, down) throws out of koa-session's middleware into the error handler
 * mounted before it (a 503 problem+json, no session cookie). No explicit save is needed.
 */
export async function startSession(ctx: Context, user: SessionUser): Promise<void> {
  await ctx.session!.regenerate();
  const bag = ctx.session as unknown as Record<string, unknown>;
  bag.user = user;
  const agent = ctx.get('user-agent');
  if (agent) bag.userAgent = agent;
}

export function createSessions(app: Koa, deps: ExampleDeps): Sessions {
  app.keys = [sessionSecret()];
  const store = new SessionStore({
    ...(deps.redis ? { client: deps.redis } : {}),
    ...(process.env.SESSION_PREFIX ? { prefix: process.env.SESSION_PREFIX } : {}),
    userId: sessionUserId,
    absoluteTtlMs: SESSION_ABSOLUTE_MS,
    touchAfterMs: 60_000,
  });
  const middleware = session(
    {
      store,
      key: 'keel.sid',
      maxAge: SESSION_IDLE_MS,
      rolling: true,
      httpOnly: true,
      sameSite: 'lax',
    },
    app,
  );
  return { store, middleware, routes: accountRoutes(store, deps.data) };
}

function accountRoutes(store: SessionStore, data: Data): Middleware {
  const router = new Router();
  const body = bodyParser({ enableTypes: ['form', 'json'], formLimit: '4kb' });
  const currentId = (ctx: Context) => ctx.session?.externalKey;
  const endAll = async (ctx: Context) => {
    const user = sessionUser(ctx);
    if (!user) return 0;
    const id = currentId(ctx);
    const ended = await store.destroyAllForUser(user.username, id ? { exceptId: id } : {});
    ctx.session = null;
    return ended + 1;
  };

  router.get('/account', async (ctx) => {
    const user = sessionUser(ctx);
    const sessions = user ? await store.listForUser(user.username) : [];
    const message = typeof ctx.query.message === 'string' ? ctx.query.message : undefined;
    ctx.type = 'html';
    ctx.body = renderAccountPage({ user, currentId: currentId(ctx), sessions, message });
  });
  router.post('/account/login', body, async (ctx) => {
    const { username, password } = (ctx.request.body ?? {}) as Record<string, unknown>;
    const user =
      typeof username === 'string' && typeof password === 'string'
        ? await checkPassword(data, username, password)
        : undefined;
    ctx.status = 303;
    if (!user) return ctx.redirect('/account?message=Wrong+username+or+password');
    await startSession(ctx, { username: user.username, role: user.role });
    ctx.redirect('/account');
  });
  router.post('/account/logout', (ctx) => {
    ctx.session = null;
    ctx.status = 303;
    ctx.redirect('/account?message=Logged+out');
  });
  router.post('/account/logout-everywhere', async (ctx) => {
    const ended = await endAll(ctx);
    ctx.status = 303;
    ctx.redirect(`/account?message=Ended+${ended}+session(s)`);
  });

  router.get('/sessions', async (ctx) => {
    const user = sessionUser(ctx);
    const sessions = user ? await store.listForUser(user.username) : [];
    ctx.body = {
      sessions: sessions.map((s) => ({
        current: s.id === currentId(ctx),
        createdAt: s.createdAt,
        lastActiveAt: s.lastActiveAt,
        expiresAt: s.expiresAt,
        userAgent: s.data.userAgent ?? null,
      })),
    };
  });
  router.post('/logout', (ctx) => {
    ctx.session = null;
    ctx.status = 204;
  });
  router.post('/logout-everywhere', async (ctx) => {
    ctx.body = { ended: await endAll(ctx) };
  });
  return router.routes() as Middleware;
}
