/**
 * The request side of the session rows: every request carries the signed cookie of the session
 * the server seeded at startup (see servers/support/session.ts).
 */
import { createHmac } from 'node:crypto';

export const SESSION_SECRET = 'keel-bench-session-secret';
/** Session ids the bench servers seed. */
export const KEEL_SID = 'bench-keel-session';
export const CONNECT_REDIS_SID = 'bench-connect-redis-session';

/** The signed cookie express-session expects for `sid` (cookie-signature's format). */
export function sessionCookie(sid: string): { cookie: string } {
  const signature = createHmac('sha256', SESSION_SECRET)
    .update(sid)
    .digest('base64')
    .replace(/=+$/, '');
  return { cookie: `connect.sid=${encodeURIComponent(`s:${sid}.${signature}`)}` };
}
