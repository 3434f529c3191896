/**
 * The framework-neutral request every feature decides on. Adapters fill it from Express or Koa;
 * cores never see a framework object except through `raw`, which is handed back to the
 * application's own callbacks (key generators, scopes) so they can read what they know.
 */

/** Incoming headers as Node gives them: lower-case names; `set-cookie` may be an array. */
export type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface KeelRequest<Raw = unknown> {
  /** Upper-case method, e.g. `POST`. */
  readonly method: string;
  /** Path without the query string, as received (not decoded), e.g. `/orders/42`. */
  readonly path: string;
  /** Route pattern when the framework knows it, e.g. `/orders/:id`. */
  readonly route: string | undefined;
  /** The raw query string without `?` ("" when absent); see `canonicalQuery()`. */
  readonly search: string;
  readonly headers: IncomingHeaders;
  /** The TCP peer's address (never a header): the input of client identity. */
  readonly remoteAddress: string | undefined;
  /**
   * The parsed body when a body parser ran (`undefined` when none did), and the raw bytes when
   * the adapter has them. `bodyParsed` tells "no body parser" apart from "empty body".
   */
  readonly body: unknown;
  readonly rawBody: Uint8Array | undefined;
  readonly bodyParsed: boolean;
  /** The framework's own request object (Express `req`, Koa `ctx`). */
  readonly raw: Raw;
}

/** First value of a header, or undefined. */
export function headerValue(headers: IncomingHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A canonical form of a query string: parameters sorted by name, re-encoded, so `?b=2&a=1` and
 * `?a=1&b=2` are the same resource for fingerprints and cache keys. `keep` limits it to some
 * names; `drop` removes some (tracking parameters, cache busters).
 *
 * Repeated values of one name are sorted too by default (idempotency fingerprints have always
 * been computed so; changing it would turn retries of stored requests into mismatches).
 * `keepValueOrder` keeps them in the order sent: `?a=1&a=2` and `?a=2&a=1` then differ, as they
 * do for a handler that reads the first value (the response cache keys so).
 */
export function canonicalQuery(
  search: string,
  filter: { keep?: readonly string[]; drop?: readonly string[]; keepValueOrder?: boolean } = {},
): string {
  if (search === '') return '';
  const pairs: [string, string][] = [];
  for (const [name, value] of new URLSearchParams(search)) {
    if (filter.keep && !filter.keep.includes(name)) continue;
    if (filter.drop?.includes(name)) continue;
    pairs.push([name, value]);
  }
  // Array.prototype.sort is stable: equal names keep their order when values are not compared.
  const byValue = filter.keepValueOrder !== true;
  pairs.sort(([an, av], [bn, bv]) =>
    an < bn ? -1 : an > bn ? 1 : !byValue ? 0 : av < bv ? -1 : av > bv ? 1 : 0,
  );
  return new URLSearchParams(pairs).toString();
}
