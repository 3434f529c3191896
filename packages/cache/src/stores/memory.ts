/**
 * The in-memory store: the same records, generations, markers and tag versions as the Redis
 * store, on core's bounded `ExpiringMap`s (no timers), with an injectable clock. Each method is
 * one synchronous step, so it is atomic like a script.
 */
import { type Clock, ExpiringMap } from '@keel/core';
import type { CacheStore, EntryRef, MissMarker, StoreLimits } from '../types.js';
import { freshToken } from './redis.js';

export interface MemoryCacheStoreOptions {
  /** Most entries (variants) kept; the least recently written go first. @default 10_000 */
  maxEntries?: number;
  /** Most body + metadata bytes kept. @default 64 MiB */
  maxBytes?: number;
}

interface Record {
  vary: string;
  gen: string;
}

interface Entry {
  gen: string;
  createdAt: number;
  meta: string;
  body: Buffer;
  /** `meta`, parsed on first read (entries are never mutated). */
  parsed?: unknown;
}

const refId = (ref: EntryRef) => `${ref.id}\n${ref.variant}`;

export function createMemoryCacheStore(
  clock: Clock,
  limits: StoreLimits,
  options: MemoryCacheStoreOptions = {},
): CacheStore {
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new ExpiringMap<string, Entry>({
    clock,
    maxEntries,
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
  });
  // Evicting a record or a tag version only makes entries invalid, never valid: safe to bound.
  const records = new ExpiringMap<string, Record>({ clock, maxEntries });
  const markers = new ExpiringMap<string, MissMarker>({ clock, maxEntries });
  const tags = new ExpiringMap<string, string>({ clock, maxEntries: maxEntries * 4 });
  const extend = <K, V>(map: ExpiringMap<K, V>, key: K, value: V, lifetimeMs: number) => {
    const until = clock() + lifetimeMs;
    const current = map.entry(key);
    map.set(key, value, current && current.expiresAt > until ? current.expiresAt : until);
  };

  return {
    kind: 'memory',
    async read(ref) {
      const record = records.get(ref.id);
      const marker = () => markers.get(refId(ref));
      if (!record) return { kind: 'miss', gen: '', marker: marker() };
      if (record.vary !== ref.vary) return { kind: 'vary', vary: record.vary, gen: record.gen };
      const entry = entries.get(refId(ref));
      if (!entry || entry.gen !== record.gen) {
        return { kind: 'miss', gen: record.gen, marker: marker() };
      }
      entry.parsed ??= JSON.parse(entry.meta);
      return {
        kind: 'hit',
        gen: record.gen,
        createdAt: entry.createdAt,
        now: clock(),
        meta: entry.meta,
        body: entry.body,
        parsed: entry.parsed,
      };
    },
    async write(ref, request) {
      const lifetime = Math.max(1, Math.min(request.lifetimeMs, limits.maxTtlMs));
      const record = records.get(ref.id);
      let gen: string;
      if (record) {
        if (record.gen !== request.observedGen && request.observedGen !== '*') {
          return { kind: 'conflict' };
        }
        gen = record.vary === ref.vary ? record.gen : freshToken();
      } else {
        gen = freshToken();
      }
      extend(records, ref.id, { vary: ref.vary, gen }, lifetime);
      const body = Buffer.from(request.body);
      entries.set(
        refId(ref),
        { gen, createdAt: clock(), meta: request.meta, body },
        clock() + lifetime,
        body.length + request.meta.length,
      );
      markers.delete(refId(ref));
      return { kind: 'written', gen };
    },
    async mark(ref, marker, ttlMs) {
      markers.set(refId(ref), marker, clock() + Math.max(1, ttlMs));
    },
    async remove(id) {
      const record = records.get(id);
      extend(records, id, { vary: record?.vary ?? '', gen: freshToken() }, limits.tombstoneMs);
    },
    async tagVersions(names, ensure) {
      return names.map((tag) => {
        const version = tags.get(tag);
        if (!ensure) return version ?? null;
        const current = version ?? freshToken();
        extend(tags, tag, current, limits.maxTtlMs);
        return current;
      });
    },
    async removeTags(names) {
      for (const tag of names) tags.delete(tag);
    },
  };
}
