/**
 * The optional in-process L1 in front of Redis. It answers a hit with no round trip, and stays
 * coherent across instances through the invalidation bus (`bus.ts`):
 * - an entry is served only while its primary's generation and each of its tags' versions are
 *   the ones this process last learned from Redis — an invalidation message (or this process's
 *   own delete/invalidate) forgets them, so the entry stops matching at once;
 * - while the bus is not connected and resynchronised, the L1 is not used at all;
 * - every L1 entry lives at most `ttlMs` (the safety net for anything missed).
 *
 * Population races: a store read that started before an invalidation must not teach the L1 a
 * version the invalidation just removed, so every write into the L1 carries the `sequence` seen
 * before its store call and is dropped if an invalidation happened since.
 */
import { type Clock, ENTRY_OVERHEAD_BYTES, ExpiringMap, hashKeyPart, retainable } from '@keel/core';
import type { CachedEntry, EntryMeta } from './entry.js';
import type { EntryRef } from './types.js';

export interface L1Options {
  /** Most entries kept in process. @default 1_000 */
  maxEntries?: number;
  /** Most bytes entries keep alive in process (bodies and a fixed cost per entry). @default 16 MiB */
  maxBytes?: number;
  /** Longest an entry stays in the L1, ms, whatever its TTL: the safety net. @default 5_000 */
  ttlMs?: number;
}

interface L1Entry {
  meta: EntryMeta;
  body: Buffer;
  gen: string;
  /** [hash of tag, version] */
  tags: [string, string][];
  ageAtPut: number;
  putAt: number;
}

export class L1 {
  readonly ttlMs: number;
  readonly #clock: Clock;
  readonly #entries: ExpiringMap<string, L1Entry>;
  readonly #records: ExpiringMap<string, { vary: string; gen: string }>;
  readonly #tags: ExpiringMap<string, string>;
  #sequence = 0;
  /** Set by the bus: false while disconnected or not yet resynchronised. */
  healthy = false;

  constructor(clock: Clock, options: L1Options = {}) {
    this.#clock = clock;
    this.ttlMs = options.ttlMs ?? 5_000;
    const maxEntries = options.maxEntries ?? 1_000;
    this.#entries = new ExpiringMap({
      clock,
      maxEntries,
      maxBytes: options.maxBytes ?? 16 * 1024 * 1024,
    });
    this.#records = new ExpiringMap({ clock, maxEntries });
    this.#tags = new ExpiringMap({ clock, maxEntries: maxEntries * 4 });
  }

  /** Bumped by every invalidation: snapshot it before a store call, pass it to `put`. */
  get sequence(): number {
    return this.#sequence;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(ref: EntryRef): CachedEntry | undefined {
    if (!this.healthy) return undefined;
    const record = this.#records.get(ref.id);
    if (!record || record.vary !== ref.vary) return undefined;
    const entry = this.#entries.get(`${ref.id}\n${ref.variant}`);
    if (!entry || entry.gen !== record.gen) return undefined;
    for (const [tag, version] of entry.tags) {
      if (this.#tags.get(tag) !== version) return undefined;
    }
    return {
      meta: entry.meta,
      body: entry.body,
      gen: entry.gen,
      ageMs: entry.ageAtPut + (this.#clock() - entry.putAt),
    };
  }

  /**
   * Remember an entry read from (or just written to) the store, with its record generation
   * and the tag versions it was validated against. Ignored when an invalidation happened since
   * `sequence` was taken, or while unhealthy.
   */
  put(ref: EntryRef, entry: CachedEntry, sequence: number, remainingMs: number): void {
    if (!this.healthy || sequence !== this.#sequence) return;
    const ttl = Math.min(this.ttlMs, remainingMs);
    if (ttl <= 0) return;
    const until = this.#clock() + ttl;
    const tags: [string, string][] = [];
    for (const [tag, version] of Object.entries(entry.meta.tags ?? {})) {
      const hash = hashKeyPart(tag);
      tags.push([hash, version]);
      this.#tags.set(hash, version, until);
    }
    this.#records.set(ref.id, { vary: ref.vary, gen: entry.gen }, until);
    // A body read from Redis is a slice of the socket's read chunk (up to 64 KiB), and a fresh
    // fill's a slice of a pooled slab: keep a copy of its own, or keep the whole block.
    const body = retainable(entry.body);
    this.#entries.set(
      `${ref.id}\n${ref.variant}`,
      {
        meta: entry.meta,
        body,
        gen: entry.gen,
        tags,
        ageAtPut: entry.ageMs,
        putAt: this.#clock(),
      },
      until,
      ENTRY_OVERHEAD_BYTES + body.buffer.byteLength,
    );
  }

  /** Forget primaries (by id) and tags (by hash): their entries stop matching. */
  invalidate(ids: readonly string[], tagHashes: readonly string[]): void {
    this.#sequence++;
    for (const id of ids) this.#records.delete(id);
    for (const tag of tagHashes) this.#tags.delete(tag);
  }

  clear(): void {
    this.#sequence++;
    this.#entries.clear();
    this.#records.clear();
    this.#tags.clear();
  }
}
