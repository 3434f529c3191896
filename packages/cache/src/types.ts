/**
 * The store contract both backends implement, and the decoded entry the cache works with.
 *
 * An entry is addressed by a **primary** key (the identity of a resource: a data key, or
 * method + path + query + partition) and a **variant** (the values of the request headers the
 * primary's `Vary` names). Each primary has a small **record** holding its Vary names and a
 * generation token; an entry is valid only under the generation it was written with, so
 * deleting a primary (a new generation) drops every variant at once, without a scan, and a
 * fill that started before the delete cannot write its stale copy back.
 */
import type { Clock } from '@keel/core';

/** Where one variant of one primary lives. */
export interface EntryRef {
  /**
   * The primary identity, hashed (core's `hashKeyPart`): user text (URLs, keys) never reaches
   * a store key as typed, and nobody can pick a Cluster slot with `{…}`.
   */
  readonly id: string;
  /** Normalised Vary names of the primary ('' for none), lower-case, sorted, comma-joined. */
  readonly vary: string;
  /** The request's values of those headers ('' for none). */
  readonly variant: string;
}

/** What a read of one variant found. */
export type ReadResult =
  /** An entry written under the record's current generation. Times are the store's clock. */
  | {
      kind: 'hit';
      gen: string;
      createdAt: number;
      now: number;
      meta: string;
      body: Buffer;
      /** The metadata already parsed (the memory store keeps it), to skip a JSON.parse per hit. */
      parsed?: unknown;
    }
  /** The record's Vary names differ from the caller's guess: read again under `vary`. */
  | { kind: 'vary'; gen: string; vary: string }
  /**
   * Nothing usable. `gen` is the record's generation ('' when there is no record), to hand
   * back to `write`. `marker` is set when a recent fill found this variant uncacheable, or failed.
   */
  | { kind: 'miss'; gen: string; marker: MissMarker | undefined };

/** A short-lived note left by a fill: hit-for-miss, or "the last fill failed". */
export type MissMarker = 'uncacheable' | 'failed';

/** An entry to write. */
export interface WriteRequest {
  /**
   * The generation read before the origin/loader ran ('' when there was no record), or `*`
   * to write whatever the record holds (`cache.set`: write-through replaces any copy).
   */
  readonly observedGen: string;
  /** How long the entry lives in the store, ms: freshness plus the longest stale window. */
  readonly lifetimeMs: number;
  /** The entry's metadata, JSON (see `entry.ts`). */
  readonly meta: string;
  readonly body: Uint8Array;
}

/** What a write did. */
export type WriteOutcome =
  | { kind: 'written'; gen: string }
  /** The primary was deleted (or its record replaced) since the read: nothing was written. */
  | { kind: 'conflict' };

/**
 * One cache backend. Every method is one atomic step on the store (one EVALSHA or one
 * command on Redis); failures reject with core's `StoreTimeoutError` / `StoreUnavailableError`.
 */
export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  /** Look up one variant (and its miss marker) in one step. */
  read(ref: EntryRef): Promise<ReadResult>;
  /** Write one variant, unless the primary was deleted since `observedGen` was read. */
  write(ref: EntryRef, request: WriteRequest): Promise<WriteOutcome>;
  /** Leave a marker on one variant for `ttlMs`. */
  mark(ref: EntryRef, marker: MissMarker, ttlMs: number): Promise<void>;
  /** Delete a primary (by id) and all its variants: a new generation; the record stays as a tombstone. */
  remove(id: string): Promise<void>;
  /**
   * The current version token of each tag (`null`: none, so nothing of that tag is valid).
   * With `ensure`, a missing tag gets a fresh token, and every token is kept alive for at
   * least the longest entry lifetime.
   */
  tagVersions(tags: readonly string[], ensure: boolean): Promise<(string | null)[]>;
  /** Invalidate tags: every entry written under their current versions stops being valid. */
  removeTags(tags: readonly string[]): Promise<void>;
  /** Stop background work (the Redis store's subscriber). */
  close?(): Promise<void>;
}

/** Options shared by both stores. */
export interface StoreLimits {
  /** Longest an entry, a tag version or a tombstone lives, ms. */
  readonly maxTtlMs: number;
  /** How long a deleted primary's tombstone blocks late writes from fills that started before, ms. */
  readonly tombstoneMs: number;
}

/** The in-memory clock contract, re-exported for store options. */
export type StoreClock = Clock;
