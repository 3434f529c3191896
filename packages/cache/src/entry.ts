/**
 * What a cache entry holds besides its bytes, and how fresh it is. Entries are stored as
 * metadata JSON + raw body bytes (never a JSON-encoded body), so binary and compressed
 * responses come back byte-identical.
 */
import type { ResponseHeaders } from '@keel/core';

/** Metadata stored with every entry (short field names: it is written on every fill). */
export interface EntryMeta {
  /** `d`: a data value (`cache.wrap`/`set`); `h`: an HTTP response. */
  k: 'd' | 'h';
  /** Freshness lifetime, ms. */
  ttl: number;
  /** Stale-while-revalidate window after `ttl`, ms. */
  swr: number;
  /** Stale-if-error window after `ttl`, ms. */
  sie: number;
  /** Tag → the tag's version when the origin call started. */
  tg?: Record<string, string>;
  /** Data: how the body encodes the value: `j` JSON (UTF-8), `b` raw bytes. */
  c?: 'j' | 'b';
  /** HTTP: status. */
  s?: number;
  /** HTTP: the stored (allow-listed) headers, including the ETag. */
  h?: ResponseHeaders;
}

/** A decoded entry as a lookup found it. */
export interface CachedEntry {
  readonly meta: EntryMeta;
  readonly body: Buffer;
  /** The record generation it was read under. */
  readonly gen: string;
  /** Age when it was read, ms (store clock for the store, local clock for L1). */
  readonly ageMs: number;
}

/** How usable an entry is at `ageMs`. */
export interface Freshness {
  fresh: boolean;
  /** Within the stale-while-revalidate window (and not fresh). */
  revalidate: boolean;
  /** Within the stale-if-error window (fresh entries count too). */
  ifError: boolean;
}

export function freshness(meta: EntryMeta, ageMs: number): Freshness {
  const fresh = ageMs < meta.ttl;
  return {
    fresh,
    revalidate: !fresh && ageMs < meta.ttl + meta.swr,
    ifError: ageMs < meta.ttl + meta.sie,
  };
}

/** How long the store keeps an entry: freshness plus the longest stale window. */
export function lifetimeOf(meta: EntryMeta): number {
  return meta.ttl + Math.max(meta.swr, meta.sie);
}

/** Parse stored metadata; `undefined` when it is not ours (a version skew or garbage). */
export function parseMeta(text: string): EntryMeta | undefined {
  try {
    const meta = JSON.parse(text) as EntryMeta;
    if (meta === null || typeof meta !== 'object' || typeof meta.ttl !== 'number') return undefined;
    return meta;
  } catch {
    return undefined;
  }
}

/** True when every tag in `required` is among the entry's tags. */
export function coversTags(meta: EntryMeta, required: readonly string[]): boolean {
  if (required.length === 0) return true;
  const tags = meta.tg;
  if (!tags) return false;
  for (const tag of required) if (tags[tag] === undefined) return false;
  return true;
}
