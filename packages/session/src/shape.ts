/**
 * The shape a session library needs from a stored session, checked on every read. A payload
 * that decodes but has the wrong shape — written by another app, an old version, a hand edit,
 * or planted — would otherwise reach the library and throw on every request of that session
 * (express-session: `new Cookie(5)`, `maxAge must be a number`, `option expires is invalid`;
 * koa-session: a stored `toJSON` or `_maxAge` the `cookies` module refuses): a 500 until it
 * expires. With a check it is "no session" and a `session.corrupt` event, like a payload that
 * does not decode.
 *
 * Only what makes the library (or the cookie serializer it calls) throw, or lets stored data
 * replace its machinery, is refused: every session these libraries write passes.
 */

/** Which library reads the sessions: each needs its own shape. `object`: any JSON object. */
export type SessionShape = 'object' | 'express-session' | 'koa-session';

export const SESSION_SHAPES: readonly SessionShape[] = ['object', 'express-session', 'koa-session'];

/**
 * The first field of `data` the library could not use (`cookie`, `cookie.expires`, `_maxAge`…),
 * or undefined when the session has the shape `shape` needs. `data` is already a JSON object.
 */
export function shapeProblem(
  shape: SessionShape,
  data: Record<string, unknown>,
): string | undefined {
  switch (shape) {
    case 'object':
      return undefined;
    case 'express-session':
      return expressSessionProblem(data);
    case 'koa-session':
      return koaSessionProblem(data);
    default: {
      const never: never = shape;
      return never;
    }
  }
}

const own = (value: object, key: string) => Object.hasOwn(value, key);
const absent = (value: unknown) => value === undefined || value === null;
const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

// The rules of `cookie` 0.7 (express-session's serializer) for the attributes it validates.
const DOMAIN =
  /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const PATH = /^[\u0020-\u003A\u003D-\u007E]*$/;
const SAME_SITE = new Set(['lax', 'strict', 'none']);
const PRIORITY = new Set(['low', 'medium', 'high']);

/**
 * express-session builds `new Cookie(session.cookie)` from every stored session: `cookie` must
 * be an object whose attributes the Cookie class and the `cookie` serializer accept. (Other
 * top-level fields are safe: express-session skips any that would shadow its Session methods.)
 */
function expressSessionProblem(data: Record<string, unknown>): string | undefined {
  const cookie = data.cookie;
  if (typeof cookie !== 'object' || cookie === null || Array.isArray(cookie)) return 'cookie';
  const c = cookie as Record<string, unknown>;
  // `for…in` copies it onto the Cookie: it would replace the Cookie's prototype.
  if (own(c, '__proto__')) return 'cookie.__proto__';
  if (!absent(c.originalMaxAge) && !finite(c.originalMaxAge)) return 'cookie.originalMaxAge';
  // The `maxAge` setter throws on a truthy non-number; an infinite one is an invalid date.
  if (c.maxAge && !finite(c.maxAge)) return 'cookie.maxAge';
  if (!absent(c.expires)) {
    if (typeof c.expires !== 'string' || Number.isNaN(Date.parse(c.expires))) {
      return 'cookie.expires';
    }
  }
  // Never written by express-session; copied as is, it becomes the expiry the serializer checks.
  if (!absent(c._expires)) return 'cookie._expires';
  if (c.domain && !(typeof c.domain === 'string' && DOMAIN.test(c.domain))) return 'cookie.domain';
  if (c.path && !(typeof c.path === 'string' && PATH.test(c.path))) return 'cookie.path';
  if (c.sameSite && c.sameSite !== true && !oneOf(c.sameSite, SAME_SITE)) return 'cookie.sameSite';
  if (c.priority && !oneOf(c.priority, PRIORITY)) return 'cookie.priority';
  return undefined;
}

/** koa-session's Session methods: a stored field of that name would replace one. */
const KOA_SESSION_METHODS = ['toJSON', 'save', 'regenerate', 'manuallyCommit', 'commit'];

/**
 * koa-session copies every stored field onto its Session object (`Reflect.set`), and calls the
 * Session's `toJSON()` on each request; `_maxAge` (and a `maxAge` field, through the Session's
 * setter) becomes the cookie's `maxAge`, which the `cookies` module refuses unless a finite
 * number; `_expire` is the expiry koa-session checks.
 */
function koaSessionProblem(data: Record<string, unknown>): string | undefined {
  if (own(data, '__proto__')) return '__proto__';
  for (const method of KOA_SESSION_METHODS) if (own(data, method)) return method;
  if (own(data, '_maxAge') && !finite(data._maxAge)) return '_maxAge';
  if (own(data, 'maxAge') && !finite(data.maxAge) && data.maxAge !== 'session') return 'maxAge';
  if (own(data, '_expire') && !finite(data._expire)) return '_expire';
  return undefined;
}

function oneOf(value: unknown, allowed: ReadonlySet<string>): boolean {
  return typeof value === 'string' && allowed.has(value.toLowerCase());
}
