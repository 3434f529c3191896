/**
 * What identifies a cached response: the primary key (method class + host + path + canonical
 * query + configured request headers + partition), and the variant (the request's values of the
 * headers the response's `Vary` names). Both are hashed before they reach a store.
 */
import {
  type ClientIdentity,
  canonicalQuery,
  type IncomingHeaders,
  type KeelRequest,
} from '@keel/core';

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
 * The primary key text of a GET/HEAD request. HEAD shares GET's entries. The partition and the
 * host are length-prefixed so no value of one can imitate another key. Repeated query values
 * keep their order: a handler reading the first `a` answers `?a=1&a=2` and `?a=2&a=1` apart.
 */
export function primaryOf(
  req: KeelRequest,
  rules: KeyRules,
  partition: string | undefined,
  host = '',
): string {
  const query = canonicalQuery(req.search, {
    ...(rules.allow ? { keep: rules.allow } : {}),
    drop: rules.ignore,
    keepValueOrder: true,
  });
  const part = partition === undefined ? '-' : `${partition.length}:${partition}`;
  let key = `h\n${part}\n${host.length}:${host}\n${req.path}\n${query}`;
  for (const name of rules.headers) key += `\n${name}:${headerForKey(req.headers, name)}`;
  return key;
}

/** Headers a proxy writes about the original request, which handlers read for links and redirects. */
const FORWARDED_HOST = 'x-forwarded-host';
const FORWARDED_PROTO = 'x-forwarded-proto';

/**
 * The host part of the key: `Host`, and — from a trusted proxy only — `X-Forwarded-Host` and
 * `X-Forwarded-Proto` (what Express's `req.hostname` / `req.protocol` and Koa's `ctx.host` /
 * `ctx.protocol` read when the app trusts its proxy), lower-cased. `undefined` when the request
 * carries one of those headers and its peer is not a trusted proxy: the handler may or may not
 * believe them (that is the app's own `trust proxy` setting), so such a request is neither
 * served from nor stored into a shared entry.
 */
export function hostOf(req: KeelRequest, identity: ClientIdentity): string | undefined {
  const host = headerForKey(req.headers, 'host').toLowerCase();
  const forwardedHost = req.headers[FORWARDED_HOST];
  const forwardedProto = req.headers[FORWARDED_PROTO];
  if (forwardedHost === undefined && forwardedProto === undefined) return host;
  if (!identity.trustsPeer(req)) return undefined;
  const fh = headerForKey(req.headers, FORWARDED_HOST).toLowerCase();
  const fp = headerForKey(req.headers, FORWARDED_PROTO).toLowerCase();
  return `${host}\n${fh}\n${fp}`;
}

/** Cookies a route says identify nobody (analytics, consent): exact names and name prefixes. */
export interface CookieRules {
  exact: ReadonlySet<string>;
  prefixes: readonly string[];
}

/** Compile `ignoreCookies`: names, or prefixes written with a trailing `*` (`_ga*`). */
export function cookieRules(names: readonly string[]): CookieRules {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const name of names) {
    if (name.endsWith('*')) prefixes.push(name.slice(0, -1));
    else exact.add(name);
  }
  return { exact, prefixes };
}

function ignored(name: string, rules: CookieRules): boolean {
  if (rules.exact.has(name)) return true;
  for (const prefix of rules.prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * True when the request carries `Authorization` or any cookie the route does not ignore. Any
 * cookie may be a session, whatever it is called (`myapp.sid`): as Varnish's built-in rules do,
 * only cookies the route names as identifying nobody leave a request anonymous. Cookie names are
 * compared exactly (RFC 6265: they are case-sensitive).
 */
export function hasCredentials(headers: IncomingHeaders, ignore: CookieRules): boolean {
  if (headers.authorization !== undefined) return true;
  const cookie = headers.cookie;
  if (cookie === undefined) return false;
  const text = Array.isArray(cookie) ? cookie.join(';') : cookie;
  for (const pair of text.split(';')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    if (!ignored(name, ignore)) return true;
  }
  return false;
}
