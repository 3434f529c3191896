/**
 * The session repository's public types: what a load returns, what a save takes and answers,
 * the repository's options. Their own file so that the repository, its option parser and its
 * write paths can share them without importing each other.
 */
import type { Clock, KeelEventListener, KeelEvents } from '@keel/core';
import type { CompressionOptions, EncryptionOptions, SessionSerializer } from './codec.js';
import type { Fields } from './fields.js';
import type { SessionShape } from './shape.js';
import type { SessionStorage } from './types.js';

/** Session data as stored: a JSON object. */
export type SessionData = Record<string, unknown>;

/** What one request loaded: the base its writes are diffed against. Opaque to applications. */
export interface SessionSnapshot {
  readonly id: string;
  /** JSON text of each top-level field as loaded (or as this request last wrote it). */
  fields: Fields;
  /** SHA-1 hex of the stored payload (compare-and-set mode only). */
  digest: string | undefined;
  /** Remaining TTL at load, ms (-1 = never expires). */
  ttlMs: number;
  /** When it was loaded, ms (repository clock). */
  loadedAt: number;
  /** Creation time from the store, ms (server clock); 0 = unknown. */
  createdAtMs: number;
  /** Hash of the owning user at load ('' = none). */
  userHash: string;
  /**
   * {@link SessionRepository.touch} with this snapshot is skipped while the session's remaining
   * TTL is within this of the TTL it would set, ms: `touchAfterMs`, or at least
   * {@link SLIDE_SLACK_MS} after a sliding load (which did the touch already). 0 = never skip.
   */
  touchSlackMs: number;
}

/**
 * How far behind its full idle TTL a session may fall before a sliding load extends it, and
 * within which the end-of-request touch after such a load is skipped, ms (with `touchAfterMs`
 * 0). connect-redis's own touch (`EXPIRE` in whole seconds) is no more precise than this.
 */
export const SLIDE_SLACK_MS = 1_000;

export interface LoadOptions {
  /**
   * Do the end-of-request touch in the read's round trip: when the session has fallen at least
   * `max(touchAfterMs, SLIDE_SLACK_MS)` behind the idle TTL it was last written with, the read
   * slides it back (never shorter, never past the absolute lifetime), and a later
   * {@link SessionRepository.touch} with the snapshot costs nothing unless the request ran that
   * long. For session libraries that touch every unchanged session they loaded
   * (express-session); a read that must not extend the session leaves it off.
   * @default false
   */
  slide?: boolean;
}

export interface LoadedSession {
  data: SessionData;
  snapshot: SessionSnapshot;
}

/** How concurrent writes of one session combine. */
export type ConflictPolicy = 'merge' | 'last-write-wins';

export interface SessionRepositoryOptions {
  /** Where sessions live. @default createMemorySessionStorage() */
  storage?: SessionStorage;
  /**
   * `merge`: a write changes only the top-level fields the request changed (concurrent requests
   * changing different fields all persist). `last-write-wins`: a write replaces the whole
   * session, as connect-redis does. Both refuse to resurrect a destroyed session.
   * @default 'merge'
   */
  conflict?: ConflictPolicy;
  /** Absolute lifetime from creation, ms: no touch or write extends a session past it. 0 = none. @default 0 */
  absoluteTtlMs?: number;
  /**
   * Skip a touch while the session's remaining TTL is within this of the TTL the touch would set,
   * ms: a busy session is not extended (a Redis call) on every request. 0 = touch every time
   * (a sliding load, see {@link LoadOptions.slide}, keeps the TTL within {@link SLIDE_SLACK_MS}).
   * @default 0
   */
  touchAfterMs?: number;
  /** How long a destroyed session's id refuses writes, ms (longer than your slowest request). @default 60_000 */
  tombstoneTtlMs?: number;
  /** The user a session belongs to, for {@link SessionRepository.listForUser} and log-out-everywhere. */
  userId?: (session: SessionData) => string | undefined;
  /** Keep an index of session ids so `length()`/`ids()` cost O(sessions), not O(keyspace). @default false */
  index?: boolean;
  /** Serializer of the payload, connect-redis's contract. @default JSON */
  serializer?: SessionSerializer;
  /** Deflate payloads above a size (`true` = 1 KiB). @default false */
  compression?: boolean | CompressionOptions;
  /** AES-256-GCM at rest with key rotation. @default none */
  encryption?: EncryptionOptions;
  /** Page size of SCAN and bulk reads. @default 100 */
  scanCount?: number;
  /** Compare-and-set attempts before a save fails with SessionConflictError. @default 5 */
  maxConflictRetries?: number;
  /** Receives `session.*` events. */
  events?: KeelEvents | KeelEventListener;
  /**
   * The shape the session library reading these sessions needs: a stored session of another
   * shape is no session (and `session.corrupt`, reason `shape`), never a payload the library
   * throws on. The Express and Koa stores set it. @default 'object' (any JSON object)
   */
  shape?: SessionShape;
  /** Clock for `touchAfterMs` bookkeeping, ms. @default Date.now */
  clock?: Clock;
}

export interface SaveOptions {
  /** TTL of the session, ms: -1 = never expires, <= 0 otherwise deletes it. */
  ttlMs: number;
  /** What this request loaded, from {@link SessionRepository.load}. Absent = a new session. */
  snapshot?: SessionSnapshot | undefined;
  /** A touch that also persists fields (koa-session `changed: false`): never shortens the TTL. */
  touch?: boolean;
}

/** Outcome of a save: `refused` = destroyed meanwhile or past its absolute lifetime. */
export type SaveStatus = 'saved' | 'deleted' | 'refused' | 'skipped';

export interface SaveResult {
  status: SaveStatus;
  /**
   * The snapshot to diff this session's next save against: the one passed in, updated, or a new
   * one for a session this request created. Undefined unless `saved`/`skipped`.
   */
  snapshot: SessionSnapshot | undefined;
}

export interface UserSession {
  id: string;
  data: SessionData;
  /** When the session was created (server clock), when known. */
  createdAt: Date | undefined;
  /** When Keel last wrote or extended it, when known. */
  lastActiveAt: Date | undefined;
  /** When it will expire if left alone; undefined = never. */
  expiresAt: Date | undefined;
}
