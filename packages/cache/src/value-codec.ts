/** How `wrap`/`set` values become an entry's body, and back. */
import { exactCopy, exactUtf8 } from '@keel/core';
import type { WrapConfig } from './cache-options.js';
import type { CachedEntry, EntryMeta } from './entry.js';
import { CacheValueError } from './errors.js';

export interface Encoded {
  codec: 'json' | 'bytes';
  body: Buffer;
}

/**
 * Bytes stay bytes; anything else is JSON. Either way into memory of their own, of exactly their
 * size: the L1 keeps what it is given, so neither the caller's later writes to its buffer nor a
 * pooled 8 KiB slab behind a small value may come with it.
 */
export function encodeValue(key: string, value: unknown): Encoded {
  if (value instanceof Uint8Array) return { codec: 'bytes', body: exactCopy(value) };
  try {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('JSON cannot represent this value');
    return { codec: 'json', body: exactUtf8(text) };
  } catch (error) {
    throw new CacheValueError(key, error);
  }
}

export function decodeValue(entry: CachedEntry): unknown {
  if (entry.meta.codec === 'bytes') return Buffer.from(entry.body);
  return JSON.parse(entry.body.toString('utf8'));
}

/** The metadata of a data entry written with `opts`, under the tag `versions` read for it. */
export function dataMeta(
  opts: Omit<WrapConfig, 'timeoutMs'>,
  encoded: Encoded,
  versions: Record<string, string>,
): EntryMeta {
  return {
    kind: 'data',
    ttlMs: opts.ttlMs,
    swrMs: opts.swrMs,
    sieMs: opts.sieMs,
    codec: encoded.codec,
    ...(opts.tags.length > 0 ? { tags: versions } : {}),
  };
}
