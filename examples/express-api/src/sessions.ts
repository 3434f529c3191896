/**
 * Session login for the Express example: express-session with Keel's `SessionStore` (Redis in
 * Redis mode, so every instance shares sessions and they survive restarts; memory otherwise),
 * plus the "my sessions" page and "log out everywhere".
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
import { SessionStore, saveSession } from '@keel/express';
import express, { type Request, type RequestHandler, type Router } from 'express';
import session from 'express-session';

declare module 'express-session' {
  interface SessionData {
    user?: SessionUser;
    userAgent?: string;
  }
}

export interface Sessions {
  store: SessionStore;
  /** express-session, configured: mount before the routes. */
  middleware: RequestHandler;
  /** The account page, its forms and the JSON session endpoints. */
  routes: Router;
}

/** The signed-in user of this request's session, if any. */
export function sessionUser(req: Request): SessionUser | undefined {
  return req.session?.user;
}

/**
 * Sign `user` in: a fresh session id (no fixation), then the user in it, stored before the
 * caller answers. express-session would save it only after sending the response head, so a
 * store that cannot write (Redis full, down) would still give a 200 and a cookie naming no
 * session; `saveSession` makes that failure this request's error (503 problem+json).
 */
export async function startSession(req: Request, user: SessionUser): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    req.session.regenerate((error) => (error ? reject(error) : resolve()));
  });
  req.session.user = user;
  const agent = req.get('user-agent');
  if (agent) req.session.userAgent = agent;
  await saveSession(req);
}

export function createSessions(deps: ExampleDeps): Sessions {
  const store = new SessionStore({
    ...(deps.redis ? { client: deps.redis } : {}),
    ...(process.env.SESSION_PREFIX ? { prefix: process.env.SESSION_PREFIX } : {}),
    userId: (s) => sessionUserId(s as unknown as Record<string, unknown>),
    absoluteTtl: SESSION_ABSOLUTE_MS / 1000,
    touchAfter: 60,
  });
  const middleware = session({
    store,
    name: 'keel.sid',
    secret: sessionSecret(),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: SESSION_IDLE_MS },
  });
  return { store, middleware, routes: accountRoutes(store, deps.data) };
}

function accountRoutes(store: SessionStore, data: Data): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '4kb' });
  const destroy = (req: Request) =>
    new Promise<void>((resolve, reject) => req.session.destroy((e) => (e ? reject(e) : resolve())));
  const endAll = async (req: Request) => {
    const user = sessionUser(req);
    if (!user) return 0;
    const ended = await store.destroyAllForUser(user.username, { exceptId: req.sessionID });
    await destroy(req);
    return ended + 1;
  };

  router.get('/account', async (req, res) => {
    const user = sessionUser(req);
    const sessions = user ? await store.listForUser(user.username) : [];
    const message = typeof req.query.message === 'string' ? req.query.message : undefined;
    res.type('html').send(renderAccountPage({ user, currentId: req.sessionID, sessions, message }));
  });
  router.post('/account/login', form, async (req, res) => {
    const { username, password } = (req.body ?? {}) as Record<string, unknown>;
    const user =
      typeof username === 'string' && typeof password === 'string'
        ? await checkPassword(data, username, password)
        : undefined;
    if (!user) return res.redirect(303, '/account?message=Wrong+username+or+password');
    await startSession(req, { username: user.username, role: user.role });
    res.redirect(303, '/account');
  });
  router.post('/account/logout', async (req, res) => {
    if (req.session) await destroy(req);
    res.redirect(303, '/account?message=Logged+out');
  });
  router.post('/account/logout-everywhere', async (req, res) => {
    const ended = await endAll(req);
    res.redirect(303, `/account?message=Ended+${ended}+session(s)`);
  });

  router.get('/sessions', async (req, res) => {
    const user = sessionUser(req);
    const sessions = user ? await store.listForUser(user.username) : [];
    res.json({
      sessions: sessions.map((s) => ({
        current: s.id === req.sessionID,
        createdAt: s.createdAt,
        lastActiveAt: s.lastActiveAt,
        expiresAt: s.expiresAt,
        userAgent: s.data.userAgent ?? null,
      })),
    });
  });
  router.post('/logout', async (req, res) => {
    if (req.session) await destroy(req);
    res.status(204).end();
  });
  router.post('/logout-everywhere', async (req, res) => {
    res.json({ ended: await endAll(req) });
  });
  return router;
}
