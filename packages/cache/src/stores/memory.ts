/**
 * The in-memory store: the same records, generations, markers and tag versions as the Redis
 * store, on core's bounded `ExpiringMap`s (swept by an unref'd timer), with an injectable clock.
 * Each method is one synchronous step, so it is atomic like a script.
 *
 * `maxBytes` bounds what the store really keeps alive: each body is copied into memory of its own
 * (a view on a pooled slab or a socket chunk would keep the whole block), and every item —
 * entries, records, markers, tag versions — counts its bytes and a fixed cost, in one map.
 */
import { type Clock, ENTRY_OVERHEAD_BYTES, ExpiringMap, exactCopy, stringBytes } from '@keel/core';
import type { CacheStore, EntryRef, MissMarker, StoreLimits } from '../types.js';
import { freshToken } from './redis.js';

export interface MemoryCacheStoreOptions {
  /**
   * Most entries (variants) kept; the least recently written go first. The store holds at most
   * four times as many items in all: beside each entry, the record of its key (generation and
   * Vary), and miss markers and tag versions. @default 10_000
   */
  maxEntries?: number;
  /**
   * Most bytes the store keeps alive: bodies, metadata, keys, records, markers, tag versions and
   * a fixed cost per item, all in one bound. @default 64 MiB
   */
  maxBytes?: number;
}

interface Entry {
  gen: string;
  createdAt: number;
  meta: string;
  body: Buffer;
  /** `meta`, parsed on first read (entries are never mutated). */
  parsed?: unknown;
}

/**
 * Everything the store keeps, in one map under one byte bound, keyed by kind: `e` entries
 * (`id\nvariant`), `r` records of primaries, `m` miss markers, `t` tag versions. Records and
 * tag versions outlive the entries they describe, so a bound on entries alone undercounts.
 * Evicting a record or a tag version only makes entries invalid, never valid: safe to bound.
 */
type Item =
  | { k: 'e'; entry: Entry }
  | { k: 'r'; vary: string; gen: string }
  | { k: 'm'; marker: MissMarker }
  | { k: 't'; version: string };

/**
 * Heap bytes of an item without a body (a record, a marker, a tag version) besides its strings:
 * map slot, expiry record and a small object, ~250 bytes on Node 20 (measured as for
 * core's `ENTRY_OVERHEAD_BYTES`, which entries count: they also hold a Buffer).
 */
const SMALL_ITEM_BYTES = 256;

const entryKey = (ref: EntryRef) => `e\n${ref.id}\n${ref.variant}`;
const recordKey = (id: string) => `r\n${id}`;
const markerKey = (ref: EntryRef) => `m\n${ref.id}\n${ref.variant}`;
const tagKey = (tag: string) => `t\n${tag}`;

/**
 * What an item keeps alive: its key, its strings and a fixed cost (the map slot and the objects
 * around them); for an entry also its body's memory and its metadata twice (the JSON text, and
 * the object parsed from it on the first hit, which takes about as much again).
 */
function itemSize(key: string, item: Item): number {
  const base = stringBytes(key);
  switch (item.k) {
    case 'e': {
      const { body, meta } = item.entry;
      return base + ENTRY_OVERHEAD_BYTES + body.buffer.byteLength + 2 * stringBytes(meta);
    }
    case 'r':
      return base + SMALL_ITEM_BYTES + stringBytes(item.vary) + item.gen.length;
    case 'm':
      return base + SMALL_ITEM_BYTES;
    case 't':
      return base + SMALL_ITEM_BYTES + item.version.length;
  }
}

export function createMemoryCacheStore(
  clock: Clock,
  limits: StoreLimits,
  options: MemoryCacheStoreOptions = {},
): CacheStore {
  const items = new ExpiringMap<string, Item>({
    clock,
    maxEntries: (options.maxEntries ?? 10_000) * 4,
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
  });
  const put = (key: string, item: Item, expiresAt: number) =>
    items.set(key, item, expiresAt, itemSize(key, item));
  /** Write `item`, keeping the later of its current and its new expiry. */
  const extend = (key: string, item: Item, lifetimeMs: number) => {
    const until = clock() + lifetimeMs;
    const current = items.entry(key);
    put(key, item, current && current.expiresAt > until ? current.expiresAt : until);
  };
  const record = (id: string) => {
    const item = items.get(recordKey(id));
    return item?.k === 'r' ? item : undefined;
  };
  const marker = (ref: EntryRef) => {
    const item = items.get(markerKey(ref));
    return item?.k === 'm' ? item.marker : undefined;
  };
  const tagVersion = (tag: string) => {
    const item = items.get(tagKey(tag));
    return item?.k === 't' ? item.version : undefined;
  };

  return {
    kind: 'memory',
    async read(ref) {
      const current = record(ref.id);
      if (!current) return { kind: 'miss', gen: '', marker: marker(ref) };
      if (current.vary !== ref.vary) return { kind: 'vary', vary: current.vary, gen: current.gen };
      const item = items.get(entryKey(ref));
      const entry = item?.k === 'e' ? item.entry : undefined;
      if (!entry || entry.gen !== current.gen) {
        return { kind: 'miss', gen: current.gen, marker: marker(ref) };
      }
      entry.parsed ??= JSON.parse(entry.meta);
      return {
        kind: 'hit',
        gen: current.gen,
        createdAt: entry.createdAt,
        now: clock(),
        meta: entry.meta,
        body: entry.body,
        parsed: entry.parsed,
      };
    },
    async write(ref, request) {
      const lifetime = Math.max(1, Math.min(request.lifetimeMs, limits.maxTtlMs));
      const current = record(ref.id);
      let gen: string;
      if (current) {
        if (current.gen !== request.observedGen && request.observedGen !== '*') {
          return { kind: 'conflict' };
        }
        gen = current.vary === ref.vary ? current.gen : freshToken();
      } else {
        gen = freshToken();
      }
      extend(recordKey(ref.id), { k: 'r', vary: ref.vary, gen }, lifetime);
      // A copy of exactly its size, in memory of its own: the caller's bytes may be a view on
      // a pooled slab or a socket chunk, which keeping would keep whole.
      const body = exactCopy(request.body);
      const entry: Entry = { gen, createdAt: clock(), meta: request.meta, body };
      put(entryKey(ref), { k: 'e', entry }, clock() + lifetime);
      items.delete(markerKey(ref));
      return { kind: 'written', gen };
    },
    async mark(ref, value, ttlMs) {
      put(markerKey(ref), { k: 'm', marker: value }, clock() + Math.max(1, ttlMs));
    },
    async remove(id) {
      const vary = record(id)?.vary ?? '';
      extend(recordKey(id), { k: 'r', vary, gen: freshToken() }, limits.tombstoneMs);
    },
    async tagVersions(names, ensure) {
      return names.map((tag) => {
        const version = tagVersion(tag);
        if (!ensure) return version ?? null;
        const current = version ?? freshToken();
        extend(tagKey(tag), { k: 't', version: current }, limits.maxTtlMs);
        return current;
      });
    },
    async removeTags(names) {
      for (const tag of names) items.delete(tagKey(tag));
    },
  };
}
