/**
 * The session repository: everything a session library's store needs, written once for
 * express-session and koa-session alike — codecs, TTL rules, the lost-update-free merge,
 * tombstones, the user index and bulk calls — over a {@link SessionStorage} (memory or Redis).
 *
 * **Lost updates.** A store is handed the whole session at the end of a request. The repository
 * remembers what each request loaded (a {@link SessionSnapshot}: the JSON text of every
 * top-level field) and writes only the difference: changed fields and removed ones. On the
 * connect-redis JSON format the difference is merged into the stored object by one Lua script;
 * on payloads Lua cannot read (encrypted, compressed, custom serializer) it is a
 * compare-and-set on the SHA-1 of what was loaded, re-applied to the newer payload on conflict.
 * Adapters keep the snapshot beside the session object (a WeakMap), so nothing outlives the
 * request.
 */
import { createHash } from 'node:crypto';
import {
  type Clock,
  hashKeyPart,
  type KeelEventListener,
  type KeelEvents,
  systemClock,
  toEvents,
  validatorFor,
} from '@keel/core';
import {
  type CompressionOptions,
  createCodec,
  type EncryptionOptions,
  type SessionCodec,
  type SessionSerializer,
} from './codec.js';
import { SessionClearRefusedError, SessionConflictError } from './errors.js';
import './events.js';
import {
  applyDiff,
  diffFields,
  type FieldDiff,
  type Fields,
  fieldsToJson,
  toFields,
} from './fields.js';
import { assertSessionId, isValidSessionId } from './keys.js';
import { SESSION_SHAPES, type SessionShape, shapeProblem } from './shape.js';
import { createMemorySessionStorage } from './stores/memory.js';
import type { SessionStorage, StoredSession, WriteLifetime, WriteResult } from './types.js';

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

const KNOWN = [
  'storage',
  'conflict',
  'absoluteTtlMs',
  'touchAfterMs',
  'tombstoneTtlMs',
  'userId',
  'index',
  'serializer',
  'compression',
  'encryption',
  'scanCount',
  'maxConflictRetries',
  'events',
  'shape',
  'clock',
] as const;

/** A user index this large is pruned of ended sessions when it grows. */
const USER_INDEX_PRUNE_AT = 64;

export class SessionRepository {
  readonly storage: SessionStorage;
  readonly conflict: ConflictPolicy;
  readonly absoluteTtlMs: number;
  readonly touchAfterMs: number;
  readonly tombstoneTtlMs: number;
  readonly index: boolean;
  readonly scanCount: number;
  readonly events: KeelEvents;
  readonly #codec: SessionCodec;
  readonly #userId: ((session: SessionData) => string | undefined) | undefined;
  readonly #maxRetries: number;
  readonly #clock: Clock;
  readonly #slideSlackMs: number;
  readonly #shape: SessionShape;

  constructor(options: SessionRepositoryOptions = {}, component = 'session') {
    const v = validatorFor(component);
    v.knownOptions(options, KNOWN);
    this.storage = options.storage ?? createMemorySessionStorage();
    this.conflict = v.oneOf('conflict', options.conflict, ['merge', 'last-write-wins'], 'merge');
    this.absoluteTtlMs = v.nonNegativeInteger('absoluteTtlMs', options.absoluteTtlMs, 0, 'ms');
    this.touchAfterMs = v.nonNegativeInteger('touchAfterMs', options.touchAfterMs, 0, 'ms');
    this.tombstoneTtlMs = v.nonNegativeInteger(
      'tombstoneTtlMs',
      options.tombstoneTtlMs,
      60_000,
      'ms',
    );
    this.index = v.boolean('index', options.index, false);
    this.scanCount = v.positiveInteger('scanCount', options.scanCount, 100);
    this.#maxRetries = v.positiveInteger('maxConflictRetries', options.maxConflictRetries, 5);
    this.#userId = v.optionalFunc('userId', options.userId);
    this.#clock = v.func<Clock>('clock', options.clock, systemClock);
    this.#slideSlackMs = Math.max(this.touchAfterMs, SLIDE_SLACK_MS);
    this.events = toEvents(options.events);
    this.#shape = v.oneOf('shape', options.shape, SESSION_SHAPES, 'object');
    this.#codec = createCodec(
      {
        serializer: options.serializer,
        compression: options.compression,
        encryption: options.encryption,
      },
      component,
    );
  }

  /** True when payloads are connect-redis's plain JSON, merged field by field in Lua. */
  get mergeable(): boolean {
    return this.#codec.mergeable;
  }

  /**
   * Load a session; undefined when absent, expired, or its payload does not decode. With
   * `slide`, the read also slides the idle TTL when due (see {@link LoadOptions.slide}).
   */
  async load(id: string, options: LoadOptions = {}): Promise<LoadedSession | undefined> {
    if (!isValidSessionId(id)) return undefined;
    if (options.slide !== true) {
      const stored = await this.storage.read(id);
      if (!stored) return undefined;
      return this.#loaded(id, stored, this.touchAfterMs);
    }
    const result = await this.storage.readAndSlide(id, {
      afterMs: this.#slideSlackMs,
      absoluteTtlMs: this.absoluteTtlMs,
    });
    if (result.status === 'missing') return undefined;
    if (result.status === 'expired') {
      this.events.emit('session.write-refused', { idHash: hashKeyPart(id), reason: 'expired' });
      if (this.index) await this.storage.indexRemove(id);
      return undefined;
    }
    const stored = result.session;
    if (result.slid && this.index) {
      await this.storage.indexAdd(id, stored.ttlMs < 0 ? -1 : stored.lastWriteMs + stored.ttlMs);
    }
    return this.#loaded(id, stored, this.#slideSlackMs);
  }

  /**
   * Write a session. With the snapshot of what this request loaded, only its changes are
   * written (policy `merge`); without one (a new or regenerated session), the whole session.
   * The snapshot is updated to what was written, so a second save in one request diffs against
   * the first.
   */
  async save(id: string, data: SessionData, options: SaveOptions): Promise<SaveResult> {
    assertSessionId(id);
    const { ttlMs } = options;
    if (ttlMs !== -1 && ttlMs <= 0) {
      await this.storage.destroy(id, 0);
      if (this.index) await this.storage.indexRemove(id);
      return { status: 'deleted', snapshot: undefined };
    }
    const snapshot = options.snapshot?.id === id ? options.snapshot : undefined;
    const touch = options.touch === true;
    if (touch && snapshot && this.#touchIsEarly(snapshot, ttlMs))
      return { status: 'skipped', snapshot };

    const fields = toFields(data);
    const userId = this.#userId?.(data);
    const userHash = userId ? hashKeyPart(userId) : '';
    // Index the user before writing: the index must never miss a live session.
    if (userHash !== '' && userHash !== snapshot?.userHash) await this.#indexUser(userHash, id);

    const rules: WriteLifetime = { ttlMs, absoluteTtlMs: this.absoluteTtlMs, touch, userHash };
    let written: Written;
    if (!snapshot || this.conflict === 'last-write-wins') {
      const payload = this.#encode(id, data, fields);
      written = {
        result: await this.storage.save(id, {
          ...rules,
          payload,
          createdAtMs: snapshot?.createdAtMs ?? 0,
        }),
        payload,
      };
    } else if (this.#codec.mergeable) {
      written = {
        result: await this.#merge(id, data, fields, snapshot, rules),
        payload: undefined,
      };
    } else {
      written = await this.#compareAndSet(id, data, fields, snapshot, rules);
    }
    const { result } = written;

    if (result.status === 'tombstoned' || result.status === 'expired') {
      this.events.emit('session.write-refused', { idHash: hashKeyPart(id), reason: result.status });
      if (result.status === 'expired' && this.index) await this.storage.indexRemove(id);
      return { status: 'refused', snapshot: undefined };
    }
    if (result.status !== 'ok') throw new Error(`unexpected save outcome ${result.status}`);
    if (this.index) await this.storage.indexAdd(id, result.expiresAtMs);
    const next: SessionSnapshot = snapshot ?? {
      id,
      fields,
      digest: undefined,
      ttlMs,
      loadedAt: 0,
      createdAtMs: 0,
      userHash,
      touchSlackMs: this.touchAfterMs,
    };
    next.fields = fields;
    next.userHash = userHash;
    next.ttlMs = result.expiresAtMs < 0 ? -1 : ttlMs;
    next.loadedAt = this.#clock();
    // The stored bytes are now this request's (or a merge of them): compare-and-set must reload.
    next.digest = written.payload === undefined ? undefined : sha1(written.payload);
    return { status: 'saved', snapshot: next };
  }

  /**
   * Slide the idle TTL to `ttlMs` without rewriting the payload: never past the absolute
   * lifetime, never shorter than it is, and not at all while within `touchAfterMs`.
   */
  async touch(id: string, options: SaveOptions): Promise<'touched' | 'skipped' | 'missing'> {
    const { ttlMs } = options;
    if (!isValidSessionId(id) || ttlMs <= 0) return 'skipped';
    const snapshot = options.snapshot?.id === id ? options.snapshot : undefined;
    if (snapshot && this.#touchIsEarly(snapshot, ttlMs)) return 'skipped';
    const result = await this.storage.touch(id, ttlMs, this.absoluteTtlMs);
    if (result.status === 'missing') return 'missing';
    if (result.status === 'expired') {
      this.events.emit('session.write-refused', { idHash: hashKeyPart(id), reason: 'expired' });
      if (this.index) await this.storage.indexRemove(id);
      return 'missing';
    }
    if (result.status === 'ok' && this.index) await this.storage.indexAdd(id, result.expiresAtMs);
    if (snapshot) {
      snapshot.ttlMs = Math.max(snapshot.ttlMs, ttlMs);
      snapshot.loadedAt = this.#clock();
    }
    return result.status === 'ok' ? 'touched' : 'skipped';
  }

  /** Delete a session and tombstone its id, so requests still running cannot write it back. */
  async destroy(id: string): Promise<void> {
    if (!isValidSessionId(id)) return;
    await this.storage.destroy(id, this.tombstoneTtlMs);
    if (this.index) await this.storage.indexRemove(id);
  }

  /** Session ids in pages: the index when enabled, else SCAN (every master of a Cluster). */
  idPages(): AsyncIterable<string[]> {
    return this.index
      ? this.storage.indexIds(this.scanCount)
      : this.storage.scanIds(this.scanCount);
  }

  async ids(): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of this.idPages()) ids.push(...page);
    return ids;
  }

  async length(): Promise<number> {
    if (this.index) return this.storage.indexCount();
    let count = 0;
    for await (const page of this.storage.scanIds(this.scanCount)) count += page.length;
    return count;
  }

  /** Every live session, in pages of decoded sessions (undecodable ones are skipped). */
  async *entries(): AsyncIterable<{ id: string; data: SessionData }[]> {
    for await (const ids of this.idPages()) {
      const stored = await this.storage.readMany(ids);
      const page: { id: string; data: SessionData }[] = [];
      stored.forEach((record, i) => {
        const data = record && this.#decode(ids[i]!, record.payload);
        if (data) page.push({ id: ids[i]!, data });
      });
      if (page.length > 0) yield page;
    }
  }

  async all(): Promise<{ id: string; data: SessionData }[]> {
    const all: { id: string; data: SessionData }[] = [];
    for await (const page of this.entries()) all.push(...page);
    return all;
  }

  /** Delete every session under the prefix. Refuses an empty prefix on Redis. */
  async clear(): Promise<number> {
    if (this.storage.kind === 'redis' && this.storage.prefix === '') {
      throw new SessionClearRefusedError();
    }
    const deleted = await this.storage.clear(this.scanCount);
    await this.storage.indexClear();
    return deleted;
  }

  /** The live sessions of a user (needs `userId`); ended ones are dropped from the index. */
  async listForUser(userId: string): Promise<UserSession[]> {
    const userHash = hashKeyPart(userId);
    const ids = await this.storage.userIndexIds(userHash);
    const stored = await this.storage.readMany(ids);
    const now = this.#clock();
    const sessions: UserSession[] = [];
    const stale: string[] = [];
    stored.forEach((record, i) => {
      const id = ids[i]!;
      const data = record && this.#decode(id, record.payload);
      if (!record || !data || this.#userId?.(data) !== userId) {
        stale.push(id);
        return;
      }
      sessions.push({
        id,
        data,
        createdAt: record.createdAtMs > 0 ? new Date(record.createdAtMs) : undefined,
        lastActiveAt: record.lastWriteMs > 0 ? new Date(record.lastWriteMs) : undefined,
        expiresAt: record.ttlMs >= 0 ? new Date(now + record.ttlMs) : undefined,
      });
    });
    await this.storage.userIndexRemove(userHash, stale);
    return sessions.sort(
      (a, b) => (b.lastActiveAt?.getTime() ?? 0) - (a.lastActiveAt?.getTime() ?? 0),
    );
  }

  /**
   * Log a user out everywhere: destroy (and tombstone) every session of the user, except
   * `exceptId` when given (the current one). Returns how many sessions ended.
   */
  async destroyAllForUser(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    const userHash = hashKeyPart(userId);
    const ids = (await this.storage.userIndexIds(userHash)).filter((id) => id !== options.exceptId);
    let destroyed = 0;
    await Promise.all(
      ids.map(async (id) => {
        const result = await this.storage.destroy(id, this.tombstoneTtlMs, userHash);
        if (result.status === 'ok' && result.existed) destroyed++;
        if (this.index && result.status === 'ok') await this.storage.indexRemove(id);
      }),
    );
    await this.storage.userIndexRemove(userHash, ids);
    this.events.emit('session.user-logout', { userHash, destroyed });
    return destroyed;
  }

  #decode(id: string, payload: Buffer): SessionData | undefined {
    const decoded = this.#codec.decode(id, payload);
    if (!decoded.ok) {
      this.events.emit('session.corrupt', { idHash: hashKeyPart(id), reason: decoded.reason });
      return undefined;
    }
    const field = shapeProblem(this.#shape, decoded.value);
    if (field === undefined) return decoded.value;
    this.events.emit('session.corrupt', { idHash: hashKeyPart(id), reason: 'shape', field });
    return undefined;
  }

  #encode(id: string, data: SessionData, fields: Fields): Buffer | string {
    return this.#codec.mergeable ? fieldsToJson(fields) : this.#codec.encode(id, data);
  }

  #loaded(id: string, stored: StoredSession, touchSlackMs: number): LoadedSession | undefined {
    const data = this.#decode(id, stored.payload);
    if (!data) return undefined;
    const userId = this.#userId?.(data);
    const snapshot: SessionSnapshot = {
      id,
      fields: toFields(data),
      digest: this.#codec.mergeable ? undefined : sha1(stored.payload),
      ttlMs: stored.ttlMs,
      loadedAt: this.#clock(),
      createdAtMs: stored.createdAtMs,
      userHash: userId ? hashKeyPart(userId) : '',
      touchSlackMs,
    };
    return { data, snapshot };
  }

  /** True while the session still has at least `ttlMs - touchSlackMs` to live. */
  #touchIsEarly(snapshot: SessionSnapshot, ttlMs: number): boolean {
    if (snapshot.touchSlackMs === 0) return false;
    if (snapshot.ttlMs === -1) return true;
    const left = snapshot.ttlMs - (this.#clock() - snapshot.loadedAt);
    return ttlMs - left < snapshot.touchSlackMs;
  }

  async #indexUser(userHash: string, id: string): Promise<void> {
    const size = await this.storage.userIndexAdd(userHash, id, this.absoluteTtlMs);
    if (size <= USER_INDEX_PRUNE_AT) return;
    const ids = await this.storage.userIndexIds(userHash);
    const stored = await this.storage.readMany(ids);
    await this.storage.userIndexRemove(
      userHash,
      ids.filter((other, i) => other !== id && stored[i] === undefined),
    );
  }

  async #merge(
    id: string,
    data: SessionData,
    fields: Fields,
    snapshot: SessionSnapshot,
    rules: WriteLifetime,
  ): Promise<WriteResult> {
    const diff = diffFields(snapshot.fields, fields);
    const result = await this.storage.merge(id, {
      ...rules,
      changed: diff.changed.map(([name, text]) => [JSON.stringify(name), text] as const),
      removed: diff.removed.map((name) => JSON.stringify(name)),
    });
    if (result.status !== 'missing' && result.status !== 'corrupt') return result;
    // Gone meanwhile (idle expiry, eviction) or unreadable: write it whole, as connect-redis
    // would, keeping its creation time so the absolute lifetime does not restart.
    return this.storage.save(id, {
      ...rules,
      touch: false,
      payload: this.#encode(id, data, fields),
      createdAtMs: snapshot.createdAtMs,
    });
  }

  async #compareAndSet(
    id: string,
    data: SessionData,
    fields: Fields,
    snapshot: SessionSnapshot,
    rules: WriteLifetime,
  ): Promise<Written> {
    const diff: FieldDiff = diffFields(snapshot.fields, fields);
    let payload = this.#encode(id, data, fields);
    let base = snapshot.digest;
    for (let attempt = 1; attempt <= this.#maxRetries; attempt++) {
      const result = await this.storage.save(id, {
        ...rules,
        payload,
        baseDigest: base,
        createdAtMs: snapshot.createdAtMs,
      });
      if (result.status !== 'conflict') return { result, payload };
      this.events.emit('session.conflict', { idHash: hashKeyPart(id), attempt });
      const decoded = this.#codec.decode(id, result.current);
      const current =
        decoded.ok && shapeProblem(this.#shape, decoded.value) === undefined ? decoded : undefined;
      // An undecodable or misshapen current payload is no session: this request's replaces it.
      const next = current ? applyDiff(current.value, diff) : data;
      payload = this.#codec.encode(id, next);
      base = current ? sha1(result.current) : undefined;
    }
    throw new SessionConflictError(this.#maxRetries);
  }
}

/** A write's outcome and, when known, the exact payload it stored. */
interface Written {
  result: WriteResult;
  payload: Buffer | string | undefined;
}

function sha1(payload: Buffer | string): string {
  return createHash('sha1').update(payload).digest('hex');
}
