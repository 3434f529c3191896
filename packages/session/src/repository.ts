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
import {
  type Clock,
  codes as coreCodes,
  hashKeyPart,
  KeelError,
  type KeelEvents,
} from '@keel/core';
import type { SessionCodec } from './codec.js';
import { SessionClearRefusedError } from './errors.js';
import './events.js';
import { toFields } from './fields.js';
import { assertSessionId, isValidSessionId } from './keys.js';
import { parseRepositoryOptions } from './repository-config.js';
import type {
  ConflictPolicy,
  LoadedSession,
  LoadOptions,
  SaveOptions,
  SaveResult,
  SessionData,
  SessionRepositoryOptions,
  SessionSnapshot,
  UserSession,
} from './repository-types.js';
import { SessionWrites, sha1, type Written } from './repository-writes.js';
import { type SessionShape, shapeProblem } from './shape.js';
import type { SessionStorage, StoredSession, WriteLifetime, WriteResult } from './types.js';

// The public types moved beside the repository; importers keep importing them from here.
export * from './repository-types.js';

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
  readonly #clock: Clock;
  readonly #slideSlackMs: number;
  readonly #shape: SessionShape;
  readonly #writes: SessionWrites;

  constructor(options: SessionRepositoryOptions = {}, component = 'session') {
    const config = parseRepositoryOptions(options, component);
    this.storage = config.storage;
    this.conflict = config.conflict;
    this.absoluteTtlMs = config.absoluteTtlMs;
    this.touchAfterMs = config.touchAfterMs;
    this.tombstoneTtlMs = config.tombstoneTtlMs;
    this.index = config.index;
    this.scanCount = config.scanCount;
    this.events = config.events;
    this.#codec = config.codec;
    this.#userId = config.userId;
    this.#clock = config.clock;
    this.#slideSlackMs = config.slideSlackMs;
    this.#shape = config.shape;
    this.#writes = new SessionWrites(config);
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
      const payload = this.#writes.encode(id, data, fields);
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
        result: await this.#writes.merge(id, data, fields, snapshot, rules),
        payload: undefined,
      };
    } else {
      written = await this.#writes.compareAndSet(id, data, fields, snapshot, rules);
    }
    const { result } = written;
    if (result.status !== 'ok') return this.#notSaved(id, result);
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

  /** A save the storage did not perform: refused for a destroyed or expired session. */
  async #notSaved(id: string, result: Exclude<WriteResult, { status: 'ok' }>): Promise<SaveResult> {
    switch (result.status) {
      case 'tombstoned':
      case 'expired':
        this.events.emit('session.write-refused', {
          idHash: hashKeyPart(id),
          reason: result.status,
        });
        if (result.status === 'expired' && this.index) await this.storage.indexRemove(id);
        return { status: 'refused', snapshot: undefined };
      case 'missing':
      case 'corrupt':
      case 'conflict':
        // The write paths handle these (a merge falls back to a whole save, compare-and-set
        // retries), so only a storage that breaks its contract answers them here.
        throw new KeelError(
          coreCodes.INTERNAL,
          `session storage (${this.storage.kind}) answered a save with "${result.status}"`,
        );
      default: {
        const never: never = result;
        return never;
      }
    }
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
}
