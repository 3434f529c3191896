/**
 * Session keys. Sessions live where connect-redis keeps them — a JSON string at `<prefix><id>`
 * (`sess:<id>` by default) — so an application switches in either direction without logging
 * anybody out. Keel's own per-session keys are siblings whose hash tag is the whole session key,
 * `{<prefix><id>}:meta` and `{<prefix><id>}:tomb`: a key without braces hashes as a whole, so
 * the siblings land on the session's Cluster slot and one script can touch all three. They
 * start with `{`, so connect-redis's `SCAN sess:*` never sees them.
 *
 * When the session prefix lies inside Keel's index prefix (`prefix: 'keel:sess:'` with the
 * default `indexPrefix: 'keel:'`), the siblings move under the index prefix too —
 * `keel:{keel:sess:<id>}:meta` — so one ACL key pattern (`~keel:*`) covers every key the session
 * store touches. They still do not match the session SCAN (`keel:sess:*`).
 *
 * The id is not hashed (connect-redis compatibility needs it verbatim) but strictly validated:
 * printable ASCII without braces (which would move the slot), glob characters (which would
 * confuse SCAN MATCH), backslashes or spaces.
 */
import { KeelOptionError } from '@keel/core';
import { SessionIdError } from './errors.js';

/** connect-redis's default session key prefix, which every Keel session store shares. */
export const DEFAULT_SESSION_PREFIX = 'sess:';

const ID_PATTERN = /^[!-~]{1,256}$/;
const FORBIDDEN = /[{}*?[\]\\]/;

/** True when `id` can be used in a key. */
export function isValidSessionId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id) && !FORBIDDEN.test(id);
}

/** Throws {@link SessionIdError} unless `id` can be used in a key. */
export function assertSessionId(id: string): string {
  if (!isValidSessionId(id)) throw new SessionIdError(String(id));
  return id;
}

/**
 * Validate a session key prefix (connect-redis's `prefix`, or an ioredis `keyPrefix`): any
 * printable ASCII without braces or glob characters, up to 128 characters. Empty is allowed
 * (clear() then refuses to run).
 */
export function validateSessionPrefix(prefix: unknown, option: string): string {
  if (
    typeof prefix !== 'string' ||
    prefix.length > 128 ||
    (prefix.length > 0 && (!/^[!-~]+$/.test(prefix) || FORBIDDEN.test(prefix)))
  ) {
    throw new KeelOptionError(
      option,
      `session store: option "${option}" must be up to 128 printable ASCII characters without braces, backslashes or glob characters (*?[]), got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

/** The three keys of one session, as passed to the client (before any ioredis `keyPrefix`). */
export interface SessionKeys {
  session: string;
  meta: string;
  tomb: string;
}

/**
 * What Keel's per-session siblings start with (before any ioredis `keyPrefix`): the index
 * prefix when the session prefix starts with it, so a single ACL key pattern covers sessions,
 * siblings and indexes; otherwise nothing (`{sess:<id>}:meta`, the layout beside connect-redis).
 */
export function siblingPrefixOf(prefix: string, indexPrefix: string): string {
  return indexPrefix !== '' && prefix.startsWith(indexPrefix) ? indexPrefix : '';
}

/**
 * Keys of session `id`. `clientKeyPrefix` is the ioredis `keyPrefix`, which ioredis prepends to
 * every key: the siblings' tag must name the session key as Redis finally sees it.
 * `siblingPrefix` comes from {@link siblingPrefixOf}.
 */
export function sessionKeys(
  prefix: string,
  clientKeyPrefix: string,
  id: string,
  siblingPrefix = '',
): SessionKeys {
  const session = `${prefix}${id}`;
  const tag = `${siblingPrefix}{${clientKeyPrefix}${session}}`;
  return { session, meta: `${tag}:meta`, tomb: `${tag}:tomb` };
}
