/**
 * The framework-neutral half of the examples' session login: the session secret, what a session
 * holds, and the "my sessions" page (`GET /account`) with its sign-in form, the list of the
 * user's sessions and a "log out everywhere" button. Each app wires it to its session library
 * (express-session or koa-session) and Keel's store, in `src/sessions.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from './data.js';

/** What a session holds once someone signed in. */
export interface SessionUser {
  username: string;
  role: Role;
}

/** Cookie lifetime: 8 hours idle (rolling), at most 7 days in total (the store's absolute TTL). */
export const SESSION_IDLE_MS = 8 * 3600 * 1000;
export const SESSION_ABSOLUTE_MS = 7 * 24 * 3600 * 1000;

let generated: string | undefined;

/**
 * The cookie-signing secret: `SESSION_SECRET`, else a random one per process (sessions then
 * survive a restart only in Redis mode with `SESSION_SECRET` set, since cookies are signed).
 */
export function sessionSecret(): string {
  generated ??= randomBytes(32).toString('base64url');
  return process.env.SESSION_SECRET || generated;
}

/** A short, non-secret label for a session id (ids are credentials: never show them). */
export function sessionLabel(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 8);
}

/** The user a stored session belongs to, for the store's per-user index. */
export function sessionUserId(session: Record<string, unknown>): string | undefined {
  const user = session.user as { username?: unknown } | undefined;
  return typeof user?.username === 'string' ? user.username : undefined;
}

export interface AccountSession {
  id: string;
  data: Record<string, unknown>;
  createdAt: Date | undefined;
  lastActiveAt: Date | undefined;
  expiresAt: Date | undefined;
}

export interface AccountView {
  user: SessionUser | undefined;
  currentId: string | undefined;
  sessions: AccountSession[];
  message?: string | undefined;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const when = (date: Date | undefined) =>
  date ? date.toISOString().replace('T', ' ').slice(0, 19) : '—';

/** `GET /account`: a sign-in form, or the user's sessions with "log out everywhere". */
export function renderAccountPage(view: AccountView): string {
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Keel example — my sessions</title></head><body>`;
  const message = view.message ? `<p id="message">${escapeHtml(view.message)}</p>` : '';
  if (!view.user) {
    return `${head}<h1>Sign in</h1>${message}
<form id="login-form" method="post" action="/account/login">
  <label>Username <input id="username" name="username" autocomplete="username"></label>
  <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
  <button id="sign-in" type="submit">Sign in</button>
</form></body></html>`;
  }
  const rows = view.sessions
    .map((s) => {
      const current = s.id === view.currentId;
      const agent = typeof s.data.userAgent === 'string' ? s.data.userAgent : 'unknown';
      return `<tr data-current="${current}"><td>${sessionLabel(s.id)}${current ? ' (this one)' : ''}</td><td>${escapeHtml(agent.slice(0, 80))}</td><td>${when(s.createdAt)}</td><td>${when(s.lastActiveAt)}</td><td>${when(s.expiresAt)}</td></tr>`;
    })
    .join('\n');
  return `${head}<h1>My sessions</h1>${message}
<p id="whoami">Signed in as <strong>${escapeHtml(view.user.username)}</strong> (${view.user.role})</p>
<table id="sessions"><thead><tr><th>Session</th><th>Browser</th><th>Signed in</th><th>Last active</th><th>Expires</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<form method="post" action="/account/logout-everywhere"><button id="logout-everywhere" type="submit">Log out everywhere</button></form>
<form method="post" action="/account/logout"><button id="logout" type="submit">Log out</button></form>
</body></html>`;
}
