/**
 * `saveSession(req)`: store express-session's session now, and wait for the store's answer.
 *
 * express-session saves a changed session when the response ends, after it has written the
 * status line and headers: its `res.end` wrapper sends the head, then calls `store.set`, then
 * the body. A store failure there reaches `next(err)` too late — the client already has its
 * 200, and a cookie naming a session that was never stored. A route whose answer depends on
 * the session being stored (a login) awaits this before answering: a failed save rejects with
 * the store's error (a 503 `KeelError` for a store failure), which the route passes on like
 * any other error. Koa needs no such helper: koa-session commits before Koa writes anything.
 */
import { SessionNotMountedError } from '@keel/session';
import type { Request } from 'express';

/**
 * Save `req.session` and resolve once the store has it; reject with the store's error
 * otherwise. On failure the session is detached (`req.session` becomes undefined): its id names
 * nothing stored, so express-session must neither send its cookie with the error response nor
 * try the save again at the end of the request.
 *
 * @example
 * await startSession(req, user); // req.session.regenerate(), then the user in it
 * await saveSession(req); // a 503 here, not a 200 with a session that does not exist
 * res.json({ ok: true });
 */
export function saveSession(req: Request): Promise<void> {
  const session = req.session;
  if (!session) return Promise.reject(new SessionNotMountedError('saveSession(req)'));
  return new Promise((resolve, reject) => {
    session.save((error: unknown) => {
      if (error === undefined || error === null) return resolve();
      (req as { session?: unknown }).session = undefined;
      reject(error);
    });
  });
}
