/**
 * Shared pieces of the session rows: one express-session app per store, with a read-mostly
 * route (`GET /read`: reads the session; express-session then touches it) and a write route
 * (`GET /write`: changes a field; express-session saves it), on a session the server creates at
 * startup under a fixed id — so every request of the run carries the same signed cookie.
 */
import { createServer } from 'node:http';
import express, { type Router } from 'express';
import session, { type Store } from 'express-session';
import { Redis } from 'ioredis';
import { SESSION_SECRET } from '../../session-requests.js';
import { announce, benchRedisUrl } from './announce.js';

export const SESSION_PREFIX = 'keel-bench:sess:';
export const SESSION_MAX_AGE_MS = 3_600_000;

/** An ioredis client to the bench Redis, connected before the server announces itself. */
export async function sessionBenchRedis(label: string): Promise<Redis> {
  const redis = new Redis(benchRedisUrl(), { lazyConnect: true });
  redis.on('error', (error) => console.error(`[${label}] redis:`, error.message));
  await redis.connect();
  return redis;
}

/** A router with `/read` and `/write` behind express-session on `store`. */
function sessionRoutes(store: Store): Router {
  const router = express.Router();
  router.use(
    session({
      store,
      secret: SESSION_SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: SESSION_MAX_AGE_MS },
    }),
  );
  type Bag = { user?: string; visits?: number };
  router.get('/read', (req, res) => {
    const bag = req.session as unknown as Bag;
    res.json({ user: bag.user ?? null, visits: bag.visits ?? 0 });
  });
  router.get('/write', (req, res) => {
    const bag = req.session as unknown as Bag;
    bag.visits = (bag.visits ?? 0) + 1;
    res.json({ user: bag.user ?? null, visits: bag.visits });
  });
  return router;
}

/**
 * Seed session `sid` in each store (as a login would leave it), mount `/read`, `/write` (on the
 * first store) and `/<mount>/read|write` for the others, then announce.
 */
export async function serveSessionBench(
  sid: string,
  stores: { mount: string; store: Store }[],
  redis: Redis,
): Promise<void> {
  const app = express();
  // Deeper mounts first: express-session skips a request that already has a session.
  const ordered = [...stores].sort((a, b) => b.mount.length - a.mount.length);
  for (const { mount, store } of ordered) {
    const cookie = {
      originalMaxAge: SESSION_MAX_AGE_MS,
      expires: new Date(Date.now() + SESSION_MAX_AGE_MS),
      httpOnly: true,
      path: '/',
    };
    await new Promise<void>((resolve, reject) =>
      store.set(sid, { cookie, user: 'bench-user', visits: 0 } as never, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    app.use(mount, sessionRoutes(store));
  }
  await announce(createServer(app), () => redis.quit());
}
