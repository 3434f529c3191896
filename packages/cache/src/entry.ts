/**
 * What a cache entry holds besides its bytes, and how fresh it is. Entries are stored as
 * metadata JSON + raw body bytes (never a JSON-encoded body), so binary and compressed
 * responses come back byte-identical.
 */
import type { ResponseHeaders } from '@keel/core';

/** What an entry holds besides its body, as the cache's logic reads it. */
export interface EntryMeta {
  /** `data`: a value of `cache.wrap`/`set`; `http`: a response. */
  kind: 'data' | 'http';
  /** Freshness lifetime, ms. */
  ttlMs: number;
  /** Stale-while-revalidate window after `ttlMs`, ms. */
  swrMs: number;
  /** Stale-if-error window after `ttlMs`, ms. */
  sieMs: number;
  /** Tag → the tag's version when the origin call started. */
  tags?: Record<string, string>;
  /** Data: how the body encodes the value. */
  codec?: 'json' | 'bytes';
  /** HTTP: status. */
  status?: number;
  /** HTTP: the stored (allow-listed) headers, including the ETag. */
  headers?: ResponseHeaders;
}

/**
 * The same, as stored: short field names, since it is written on every fill and read on every
 * hit. Only `encodeMeta` / `decodeMeta` see these names; changing them is a format change
 * (entries written by another version read as misses).
 */
interface WireMeta {
  k: 'd' | 'h';
  ttl: number;
  swr: number;
  sie: number;
  tg?: Record<string, string>;
  c?: 'j' | 'b';
  s?: number;
  h?: ResponseHeaders;
}

/** The stored JSON of `meta`. */
export function encodeMeta(meta: EntryMeta): string {
  const wire: WireMeta = {
    k: meta.kind === 'data' ? 'd' : 'h',
    ttl: meta.ttlMs,
    swr: meta.swrMs,
    sie: meta.sieMs,
  };
  if (meta.tags !== undefined) wire.tg = meta.tags;
  if (meta.codec !== undefined) wire.c = meta.codec === 'bytes' ? 'b' : 'j';
  if (meta.status !== undefined) wire.s = meta.status;
  if (meta.headers !== undefined) wire.h = meta.headers;
  return JSON.stringify(wire);
}

/** Stored metadata already parsed from JSON; `undefined` when it is not ours (a version skew or garbage). */
export function decodeMeta(parsed: unknown): EntryMeta | undefined {
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const wire = parsed as Partial<WireMeta>;
  if (typeof wire.ttl !== 'number') return undefined;
  const meta: EntryMeta = {
    kind: wire.k === 'd' ? 'data' : 'http',
    ttlMs: wire.ttl,
    swrMs: wire.swr ?? 0,
    sieMs: wire.sie ?? 0,
  };
  if (wire.tg !== undefined) meta.tags = wire.tg;
  if (wire.c !== undefined) meta.codec = wire.c === 'b' ? 'bytes' : 'json';
  if (wire.s !== undefined) meta.status = wire.s;
  if (wire.h !== undefined) meta.headers = wire.h;
  return meta;
}

/** Parse stored metadata; `undefined` when it is not ours (a version skew or garbage). */
export function parseMeta(text: string): EntryMeta | undefined {
  try {
    return decodeMeta(JSON.parse(text));
  } catch {
    return undefined;
  }
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
  const fresh = ageMs < meta.ttlMs;
  return {
    fresh,
    revalidate: !fresh && ageMs < meta.ttlMs + meta.swrMs,
    ifError: ageMs < meta.ttlMs + meta.sieMs,
  };
}

/** How long the store keeps an entry: freshness plus the longest stale window. */
export function lifetimeOf(meta: EntryMeta): number {
  return meta.ttlMs + Math.max(meta.swrMs, meta.sieMs);
}

/** True when every tag in `required` is among the entry's tags. */
export function coversTags(meta: EntryMeta, required: readonly string[]): boolean {
  if (required.length === 0) return true;
  const tags = meta.tags;
  if (!tags) return false;
  for (const tag of required) if (tags[tag] === undefined) return false;
  return true;
}
