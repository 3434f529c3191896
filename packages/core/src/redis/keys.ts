/**
 * Cluster-safe key building. Every key one operation touches shares a hash tag, so a multi-key
 * script lands on one Cluster slot: `keel:rl:{<tag>}:<part>`.
 *
 * User-controlled text (client keys, idempotency keys, URLs, session ids, tags) never enters a
 * key as-is: it is hashed, so nobody can pick a slot with `{…}` or blow up key sizes.
 */
import { createHash } from 'node:crypto';
import { KeelOptionError } from '../errors.js';

/** Default global prefix for all Keel keys. */
export const DEFAULT_PREFIX = 'keel:';

/** How many recent ids a keyspace remembers the hash tag of. */
const RECENT_TAGS = 1024;

/** Length of a hashed key part: 22 base64url chars = 132 bits of SHA-256. */
const HASH_LENGTH = 22;

/** SHA-256 of `text`, base64url, truncated to 132 bits: safe to put in a key or hash tag. */
export function hashKeyPart(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, HASH_LENGTH);
}

/**
 * Validate a global key prefix: no braces (they would change the hash slot of every key) and
 * nothing that is hard to read in `redis-cli`. Returns it unchanged.
 */
export function validatePrefix(prefix: unknown, option = 'prefix'): string {
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9:_.-]{0,64}$/.test(prefix)) {
    throw new KeelOptionError(
      option,
      `option "${option}" must be at most 64 characters of letters, digits and ":_.-" (no braces, which would pin every key to one Cluster slot), got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

export interface Keyspace {
  /** The full prefix of this feature's keys, e.g. `keel:rl:`. */
  readonly prefix: string;
  /** The key for `parts` under the hash tag of `id`; `id` is always hashed (see `hashKeyPart`). */
  key(id: string, ...parts: string[]): string;
  /** The hash tag `{…}` used for `id`, for building sibling keys. */
  tag(id: string): string;
}

/**
 * A keyspace for one feature: `createKeyspace('keel:', 'rl').key(clientKey, 'fixed')` gives
 * `keel:rl:{<sha256(clientKey)>}:fixed`.
 */
export function createKeyspace(globalPrefix: string, feature: string): Keyspace {
  validatePrefix(globalPrefix);
  const prefix = `${globalPrefix}${feature}:`;
  // Recent tags, so a client hitting its limit again costs a Map lookup, not a SHA-256 (about
  // 2 % of a rate-limited request's CPU). Cleared when full: a client rotating keys only
  // empties it, it cannot grow it.
  const recent = new Map<string, string>();
  const tag = (id: string) => {
    let known = recent.get(id);
    if (known === undefined) {
      if (recent.size >= RECENT_TAGS) recent.clear();
      known = `{${hashKeyPart(id)}}`;
      recent.set(id, known);
    }
    return known;
  };
  return {
    prefix,
    tag,
    key: (id, ...parts) =>
      parts.length === 0 ? `${prefix}${tag(id)}` : `${prefix}${tag(id)}:${parts.join(':')}`,
  };
}
