/**
 * The response model shared by the features that answer on their own (rate-limit rejections,
 * idempotency replays, cache hits) and by the ones that capture what the handler produced
 * (idempotency, caching) to store it.
 */

/** Outgoing header values: lower-case names, arrays only where a header repeats. */
export type ResponseHeaders = Record<string, string | string[]>;

export interface KeelResponse {
  status: number;
  headers: ResponseHeaders;
  /** Body bytes, exactly as sent (any Content-Encoding). Empty for 204/304/HEAD. */
  body: Uint8Array;
}

/** What an adapter's response capture reports once the handler has finished. */
export type CaptureResult =
  | { kind: 'complete'; response: KeelResponse }
  /** The body passed `maxBytes`: it was sent to the client, but not kept. */
  | { kind: 'too-large'; status: number; headers: ResponseHeaders; bytes: number }
  /** The connection closed before the handler finished the response. */
  | { kind: 'aborted'; status: number };

/** Headers never stored or replayed: they belong to one response or one hop. */
const NEVER_STORED = new Set([
  'set-cookie',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'date',
  'proxy-authenticate',
  'trailer',
  'upgrade',
]);

/**
 * Keep only the allow-listed headers (lower-case) of a captured response. `set-cookie` and
 * hop-by-hop headers are dropped even when listed: a replay must never hand out a session.
 */
export function pickHeaders(headers: ResponseHeaders, allow: readonly string[]): ResponseHeaders {
  const picked: ResponseHeaders = {};
  for (const name of allow) {
    const lower = name.toLowerCase();
    if (NEVER_STORED.has(lower)) continue;
    const value = headers[lower];
    if (value !== undefined) picked[lower] = value;
  }
  return picked;
}

/** Normalise Node's `getHeaders()` output (numbers, mixed case) to {@link ResponseHeaders}. */
export function normalizeHeaders(
  headers: Readonly<Record<string, number | string | readonly string[] | undefined>>,
): ResponseHeaders {
  const result: ResponseHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    result[name.toLowerCase()] =
      typeof value === 'number'
        ? String(value)
        : Array.isArray(value)
          ? [...value]
          : (value as string);
  }
  return result;
}
