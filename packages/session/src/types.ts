/**
 * The storage contract both session storages (memory and Redis) implement. Every method is one
 * atomic step on its storage — one Lua script on Redis, one synchronous step in memory — and
 * both return the same outcomes, so the repository above them cannot tell them apart.
 *
 * Ids and payloads are opaque here: the repository validates ids, encodes payloads and decides
 * TTLs; a storage only keeps bytes, lifetimes, tombstones and indexes.
 */

/** A stored session as read: its payload bytes and lifetime facts. */
export interface StoredSession {
  /** The payload exactly as stored: JSON text for connect-redis format, else Keel's envelope. */
  payload: Buffer;
  /** Remaining time to live, ms; -1 when it never expires. */
  ttlMs: number;
  /** When the session was first written by Keel, ms since the epoch (server clock); 0 = unknown. */
  createdAtMs: number;
  /** When Keel last wrote or extended it, ms since the epoch (server clock); 0 = unknown. */
  lastWriteMs: number;
  /**
   * The idle TTL it was last written or touched with, ms: what a sliding read extends it back
   * to. -1 = never idles out; 0 = unknown (written by connect-redis).
   */
  idleTtlMs: number;
}

/**
 * A read that also does the touch the request would do at its end (express-session touches
 * every unchanged session): the idle TTL slides back to {@link StoredSession.idleTtlMs} —
 * never shorter, never past the absolute lifetime — in the read's own round trip.
 */
export interface SlideRequest {
  /** Slide only once the session has lost at least this much of its idle TTL, ms (> 0). */
  afterMs: number;
  /** Absolute lifetime from creation, ms; 0 = none. */
  absoluteTtlMs: number;
}

export type ReadResult =
  | {
      status: 'ok';
      session: StoredSession;
      /** True when this read extended the TTL (then `lastWriteMs` is the time it did). */
      slid: boolean;
    }
  | { status: 'missing' }
  | { status: 'expired' };

/** Lifetime rules of one write. */
export interface WriteLifetime {
  /** Idle TTL, ms; -1 = never idles out. Must not be 0. */
  ttlMs: number;
  /** Absolute lifetime from creation, ms; 0 = none. */
  absoluteTtlMs: number;
  /** A touch: never shorten the TTL the session already has. */
  touch: boolean;
  /** Hash of the owning user for the metadata ('' = none). */
  userHash: string;
}

/** Write a whole payload: unconditionally, or only over the payload the request loaded. */
export interface SaveRequest extends WriteLifetime {
  payload: Buffer | string;
  /** SHA-1 hex of the payload loaded; absent = unconditional. */
  baseDigest?: string | undefined;
  /** Creation time carried from the load, for a session that vanished meanwhile; 0 = none. */
  createdAtMs: number;
}

/** Apply field changes to a stored JSON object (connect-redis format only). */
export interface MergeRequest extends WriteLifetime {
  /** Changed top-level fields: [name as JSON string token, new value as JSON text]. */
  changed: readonly (readonly [string, string])[];
  /** Removed top-level fields, as JSON string tokens. */
  removed: readonly string[];
}

export type WriteResult =
  | { status: 'ok'; expiresAtMs: number }
  | { status: 'missing' }
  | { status: 'tombstoned' }
  | { status: 'expired' }
  | { status: 'conflict'; current: Buffer }
  | { status: 'corrupt' };

export type TouchResult =
  | { status: 'ok' | 'unchanged'; expiresAtMs: number }
  | { status: 'missing' }
  | { status: 'expired' };

export type DestroyResult = { status: 'ok'; existed: boolean } | { status: 'not-owner' };

/**
 * Where sessions live. Implemented by {@link createMemorySessionStorage} and
 * {@link createRedisSessionStorage}; a third implementation must pass the conformance suite.
 */
export interface SessionStorage {
  /** `memory` or `redis`: for messages and events. */
  readonly kind: 'memory' | 'redis';
  /** The session key prefix, e.g. `sess:`. */
  readonly prefix: string;
  read(id: string): Promise<StoredSession | undefined>;
  /** {@link read} plus, when due, a slide of the idle TTL ({@link SlideRequest}): one step. */
  readAndSlide(id: string, slide: SlideRequest): Promise<ReadResult>;
  /** Several sessions at once (bulk `all()`); never a cross-slot command on a Cluster. */
  readMany(ids: readonly string[]): Promise<(StoredSession | undefined)[]>;
  save(id: string, request: SaveRequest): Promise<WriteResult>;
  merge(id: string, request: MergeRequest): Promise<WriteResult>;
  touch(id: string, ttlMs: number, absoluteTtlMs: number): Promise<TouchResult>;
  /** Delete, leaving a tombstone for `tombstoneTtlMs` (0 = none); `userHash` restricts it. */
  destroy(id: string, tombstoneTtlMs: number, userHash?: string): Promise<DestroyResult>;
  /** Every session id, in pages (SCAN on every master of a Cluster). */
  scanIds(pageSize: number): AsyncIterable<string[]>;
  /** Delete every session under the prefix; returns how many were deleted. */
  clear(pageSize: number): Promise<number>;

  /** Add `id` to a user's index (before the session is written); returns the index size. */
  userIndexAdd(userHash: string, id: string, keepMs: number): Promise<number>;
  userIndexIds(userHash: string): Promise<string[]>;
  userIndexRemove(userHash: string, ids: readonly string[]): Promise<void>;

  /** The optional global index: record `id` with its expiry (ms since epoch, -1 = never). */
  indexAdd(id: string, expiresAtMs: number): Promise<void>;
  indexRemove(id: string): Promise<void>;
  /** Live members of the global index (expired ones are dropped first). */
  indexCount(): Promise<number>;
  indexIds(pageSize: number): AsyncIterable<string[]>;
  indexClear(): Promise<void>;
}
