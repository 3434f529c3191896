/**
 * `saveSession(req)` from @keel/express (issue 23, item 7): the session is in the store before
 * the route answers, a store failure is the route's error, and a route without express-session
 * hears what is missing. Store failures on Redis are in test/examples/sessions-production.
 */
import { SessionStore, saveSession } from '@keel/express';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { describe, expect, it } from 'vitest';

function app(store: SessionStore | undefined) {
  const server = express();
  if (store) {
    server.use(
      session({ store, secret: 'keel-test-secret', resave: false, saveUninitialized: false }),
    );
  }
  server.post('/login', async (req, res) => {
    const bag = req.session as unknown as Record<string, unknown> | undefined;
    if (bag) bag.user = 'ann';
    await saveSession(req);
    // Already stored: the end-of-request save has nothing left to do.
    res.json({ stored: store ? await store.get(req.sessionID) : null });
  });
  server.use(
    (
      error: { status?: number; code?: string },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(error.status ?? 500).json({ code: error.code ?? 'ERROR' });
    },
  );
  return server;
}

describe('saveSession(req)', () => {
  it('stores the session before the route answers', async () => {
    const res = await request(app(new SessionStore())).post('/login').expect(200);
    expect(res.body.stored).toMatchObject({ user: 'ann' });
    expect(String(res.headers['set-cookie'])).toMatch(/connect\.sid=s%3A/);
  });

  it('rejects with KEEL_ERR_SESSION_NOT_MOUNTED without express-session', async () => {
    const res = await request(app(undefined)).post('/login').expect(500);
    expect(res.body).toEqual({ code: 'KEEL_ERR_SESSION_NOT_MOUNTED' });
  });
});
