/**
 * What identifies a cached response: the primary key (method class + path + canonical query +
 * configured request headers + partition), and the variant (the request's values of the
 * headers the response's `Vary` names). Both are hashed before they reach a store.
 */
import { canonicalQuery, type IncomingHeaders, type KeelRequest } from '@keel/core';

/** Normalise a `Vary` value (or list of names): lower-case, trimmed, sorted, deduplicated. */
export function normalizeVary(value: string | readonly string[] | undefined): string {
  if (value === undefined) return '';
  const text = Array.isArray(value) ? value.join(',') : (value as string);
  const names = new Set<string>();
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '') names.add(name);
  }
  return [...names].sort().join(',');
}

/** A header's value for a key: repeated values joined, whitespace runs collapsed. */
export function headerForKey(headers: IncomingHeaders, name: string): string {
  const value = headers[name];
  if (value === undefined) return '';
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text.trim().replace(/\s+/g, ' ');
}

/** The request's values of the normalised Vary `names` (one per line). */
export function variantOf(headers: IncomingHeaders, names: string): string {
  if (names === '') return '';
  let variant = '';
  for (const name of names.split(',')) variant += `${name}:${headerForKey(headers, name)}\n`;
  return variant;
}

export interface KeyRules {
  /** Query parameters that make up the key (others are ignored); all when undefined. */
  allow: readonly string[] | undefined;
  /** Query parameters never part of the key (tracking, cache busters). */
  ignore: readonly string[];
  /** Request headers always part of the key, lower-case. */
  headers: readonly string[];
}

/**
 * The primary key text of a GET/HEAD request. HEAD shares GET's entries. The partition is
 * length-prefixed so no partition value can imitate another key.
 */
export function primaryOf(
  req: KeelRequest,
  rules: KeyRules,
  partition: string | undefined,
): string {
  const query = canonicalQuery(req.search, {
    ...(rules.allow ? { keep: rules.allow } : {}),
    drop: rules.ignore,
  });
  let key = `h\n${partition === undefined ? '-' : `${partition.length}:${partition}`}\n${req.path}\n${query}`;
  for (const name of rules.headers) key += `\n${name}:${headerForKey(req.headers, name)}`;
  return key;
}

/** Cookie names that mark a request as carrying a session. Compared case-insensitively. */
export const DEFAULT_SESSION_COOKIES: readonly string[] = [
  'connect.sid',
  'koa.sess',
  'koa:sess',
  'sid',
  'sess',
  'session',
  'sessionid',
  'session_id',
  'jsessionid',
  'phpsessid',
  '__session',
  '__host-session',
  '__secure-session',
  'keel.sid',
];

/** True when the request carries `Authorization` or one of the session cookies. */
export function hasCredentials(
  headers: IncomingHeaders,
  sessionCookies: ReadonlySet<string>,
): boolean {
  if (headers.authorization !== undefined) return true;
  const cookie = headers.cookie;
  if (cookie === undefined || sessionCookies.size === 0) return false;
  const text = Array.isArray(cookie) ? cookie.join(';') : cookie;
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    const name = (eq === -1 ? pair : pair.slice(0, eq)).trim().toLowerCase();
    if (sessionCookies.has(name)) return true;
  }
  return false;
}
