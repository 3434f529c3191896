/**
 * The in-process session storage: the embedded default, with the same semantics as Redis —
 * idle TTL, touch that never shortens, absolute lifetime, tombstones, field merges, the user
 * index — on core's bounded {@link ExpiringMap} (swept by an unref'd timer; least recently used
 * sessions are evicted when full). Payloads are kept as bytes, so every read hands out a fresh copy and a
 * caller can never mutate what is stored.
 */
import { createHash } from 'node:crypto';
import {
  type Clock,
  ENTRY_OVERHEAD_BYTES,
  ExpiringMap,
  exactCopy,
  exactUtf8,
  optionNames,
  systemClock,
  validatorFor,
} from '@keel/core';
import { mergeJsonText } from '../fields.js';
import { DEFAULT_SESSION_PREFIX } from '../keys.js';
import type {
  DestroyResult,
  MergeRequest,
  ReadResult,
  SaveRequest,
  SessionStorage,
  SlideRequest,
  StoredSession,
  TouchResult,
  WriteLifetime,
  WriteResult,
} from '../types.js';

export interface MemorySessionStorageOptions {
  /** Most sessions kept; the least recently used is evicted beyond it. @default 10_000 */
  maxEntries?: number;
  /** Most bytes sessions keep alive: payloads plus a fixed cost per session. @default 64 MiB */
  maxBytes?: number;
  /** Clock in ms since the epoch; inject `createManualClock()` in tests. @default Date.now */
  clock?: Clock;
  /** Shown in messages and `ids()` results like a Redis prefix. @default 'sess:' */
  prefix?: string | undefined;
}

interface Entry {
  payload: Buffer;
  createdAt: number;
  lastWrite: number;
  /** Idle TTL of the last write or touch, ms (-1 = never idles out; 0 = unknown). */
  idleTtl: number;
  userHash: string;
}

const KNOWN = optionNames<MemorySessionStorageOptions>({
  maxEntries: true,
  maxBytes: true,
  clock: true,
  prefix: true,
});

/** Memory storage for sessions. One instance per store; nothing is shared between instances. */
export function createMemorySessionStorage(
  options: MemorySessionStorageOptions = {},
): SessionStorage {
  return new MemorySessionStorage(options);
}

class MemorySessionStorage implements SessionStorage {
  readonly kind = 'memory' as const;
  readonly prefix: string;
  readonly #clock: Clock;
  readonly #sessions: ExpiringMap<string, Entry>;
  readonly #tombs: ExpiringMap<string, true>;
  readonly #users: ExpiringMap<string, Set<string>>;

  constructor(options: MemorySessionStorageOptions) {
    const v = validatorFor('memorySessionStorage');
    v.knownOptions(options, KNOWN);
    const maxEntries = v.positiveInteger('maxEntries', options.maxEntries, 10_000);
    const maxBytes = v.positiveInteger('maxBytes', options.maxBytes, 64 * 1024 * 1024, 'bytes');
    const clock = v.func<Clock>('clock', options.clock, systemClock);
    this.#clock = clock;
    this.prefix = options.prefix ?? DEFAULT_SESSION_PREFIX;
    this.#sessions = new ExpiringMap<string, Entry>({ maxEntries, maxBytes, clock });
    this.#tombs = new ExpiringMap<string, true>({ maxEntries, clock });
    this.#users = new ExpiringMap<string, Set<string>>({ maxEntries, clock });
  }

  async read(id: string): Promise<StoredSession | undefined> {
    const entry = this.#sessions.get(id);
    return entry ? copy(entry, this.#sessions.ttl(id)) : undefined;
  }

  async readAndSlide(id: string, slide: SlideRequest): Promise<ReadResult> {
    const sessions = this.#sessions;
    const found = sessions.entry(id);
    if (!found) return { status: 'missing' };
    const entry = found.value;
    const pttl = sessions.ttl(id);
    const idle = entry.idleTtl;
    if (idle <= 0 || pttl < 0 || idle - pttl < slide.afterMs) {
      return { status: 'ok', session: copy(entry, pttl), slid: false };
    }
    const now = this.#clock();
    let ttl = idle;
    if (slide.absoluteTtlMs > 0) {
      const left = entry.createdAt + slide.absoluteTtlMs - now;
      if (left <= 0) {
        sessions.delete(id);
        return { status: 'expired' };
      }
      if (left < ttl) ttl = left;
    }
    if (ttl <= pttl) return { status: 'ok', session: copy(entry, pttl), slid: false };
    sessions.expire(id, now + ttl);
    sessions.touch(id);
    entry.lastWrite = now;
    return { status: 'ok', session: copy(entry, ttl), slid: true };
  }

  async readMany(ids: readonly string[]): Promise<(StoredSession | undefined)[]> {
    return ids.map((id) => {
      const entry = this.#sessions.get(id);
      return entry ? copy(entry, this.#sessions.ttl(id)) : undefined;
    });
  }

  async save(id: string, request: SaveRequest): Promise<WriteResult> {
    if (this.#tombs.get(id)) return { status: 'tombstoned' };
    const current = this.#sessions.get(id);
    if (
      request.baseDigest !== undefined &&
      current &&
      createHash('sha1').update(current.payload).digest('hex') !== request.baseDigest
    ) {
      return { status: 'conflict', current: Buffer.from(current.payload) };
    }
    const now = this.#clock();
    let created = current ? current.createdAt : request.createdAtMs;
    // As the script: a creation time that is not a whole number is unknown (it starts now).
    if (!Number.isSafeInteger(created) || created <= 0) created = now;
    const ttl = this.#lifetime(id, current !== undefined, created, now, request);
    if (ttl === 'expired') {
      this.#sessions.delete(id);
      return { status: 'expired' };
    }
    // A copy of exactly its size: Buffer.from would slice a pooled 8 KiB slab and keep it.
    const payload = request.payload;
    const kept = typeof payload === 'string' ? exactUtf8(payload) : exactCopy(payload);
    return this.#write(id, kept, created, ttl, now, request);
  }

  async merge(id: string, request: MergeRequest): Promise<WriteResult> {
    if (this.#tombs.get(id)) return { status: 'tombstoned' };
    const current = this.#sessions.get(id);
    if (!current) return { status: 'missing' };
    const merged = mergeJsonText(
      current.payload.toString('utf8'),
      request.changed,
      request.removed,
    );
    if (merged === undefined) return { status: 'corrupt' };
    const now = this.#clock();
    const ttl = this.#lifetime(id, true, current.createdAt, now, request);
    if (ttl === 'expired') {
      this.#sessions.delete(id);
      return { status: 'expired' };
    }
    return this.#write(id, exactUtf8(merged), current.createdAt, ttl, now, request);
  }

  async touch(id: string, ttlMs: number, absoluteTtlMs: number): Promise<TouchResult> {
    const sessions = this.#sessions;
    const entry = sessions.entry(id);
    if (!entry) return { status: 'missing' };
    const now = this.#clock();
    let ttl = ttlMs;
    if (absoluteTtlMs > 0) {
      const left = entry.value.createdAt + absoluteTtlMs - now;
      if (left <= 0) {
        sessions.delete(id);
        return { status: 'expired' };
      }
      if (left < ttl) ttl = left;
    }
    const pttl = sessions.ttl(id);
    if (pttl === -1 && absoluteTtlMs <= 0) return { status: 'unchanged', expiresAtMs: -1 };
    if (pttl !== -1 && pttl >= ttl) return { status: 'unchanged', expiresAtMs: now + pttl };
    sessions.expire(id, now + ttl);
    sessions.touch(id);
    entry.value.lastWrite = now;
    entry.value.idleTtl = ttlMs;
    return { status: 'ok', expiresAtMs: now + ttl };
  }

  async destroy(id: string, tombstoneTtlMs: number, userHash?: string): Promise<DestroyResult> {
    const entry = this.#sessions.get(id);
    if (userHash !== undefined && userHash !== '' && entry && entry.userHash !== userHash) {
      return { status: 'not-owner' };
    }
    this.#sessions.delete(id);
    if (tombstoneTtlMs > 0) this.#tombs.set(id, true, this.#clock() + tombstoneTtlMs);
    return { status: 'ok', existed: entry !== undefined };
  }

  scanIds(pageSize: number): AsyncIterable<string[]> {
    return this.#pages(pageSize);
  }

  async clear(): Promise<number> {
    const count = this.#sessions.size;
    this.#sessions.clear();
    this.#users.clear();
    return count;
  }

  async userIndexAdd(userHash: string, id: string, keepMs: number): Promise<number> {
    const entry = this.#users.entry(userHash);
    const set = entry?.value ?? new Set<string>();
    set.add(id);
    const now = this.#clock();
    const expiresAt =
      keepMs > 0 ? Math.max(entry?.expiresAt ?? 0, now + keepMs) : Number.POSITIVE_INFINITY;
    this.#users.set(userHash, set, expiresAt);
    return set.size;
  }

  async userIndexIds(userHash: string): Promise<string[]> {
    return [...(this.#users.get(userHash) ?? [])];
  }

  async userIndexRemove(userHash: string, ids: readonly string[]): Promise<void> {
    const set = this.#users.get(userHash);
    if (!set) return;
    for (const id of ids) set.delete(id);
    if (set.size === 0) this.#users.delete(userHash);
  }

  // The memory storage counts its own map: the index options cost nothing here.
  async indexAdd(): Promise<void> {}
  async indexRemove(): Promise<void> {}
  async indexCount(): Promise<number> {
    let count = 0;
    for (const _ of this.#sessions.entries()) count++;
    return count;
  }
  indexIds(pageSize: number): AsyncIterable<string[]> {
    return this.#pages(pageSize);
  }
  async indexClear(): Promise<void> {}

  /** The TTL rules of every write, as the scripts apply them. */
  #lifetime(
    id: string,
    exists: boolean,
    created: number,
    now: number,
    rules: WriteLifetime,
  ): number | 'expired' {
    let ttl = rules.ttlMs;
    if (rules.touch && exists) {
      const pttl = this.#sessions.ttl(id);
      if (pttl === -1) ttl = -1;
      else if (pttl > ttl) ttl = pttl;
    }
    if (rules.absoluteTtlMs > 0) {
      const left = created + rules.absoluteTtlMs - now;
      if (left <= 0) return 'expired';
      if (ttl < 0 || left < ttl) ttl = left;
    }
    return ttl;
  }

  #write(
    id: string,
    payload: Buffer,
    created: number,
    ttl: number,
    now: number,
    rules: WriteLifetime,
  ): WriteResult {
    const entry: Entry = {
      payload,
      createdAt: created,
      lastWrite: now,
      idleTtl: rules.ttlMs,
      userHash: rules.userHash,
    };
    const expiresAt = ttl > 0 ? now + ttl : Number.POSITIVE_INFINITY;
    this.#sessions.set(id, entry, expiresAt, ENTRY_OVERHEAD_BYTES + payload.buffer.byteLength);
    return { status: 'ok', expiresAtMs: ttl > 0 ? now + ttl : -1 };
  }

  async *#pages(pageSize: number): AsyncIterable<string[]> {
    let page: string[] = [];
    for (const [id] of this.#sessions.entries()) {
      page.push(id);
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }
}

/** A stored session as handed out: a fresh copy of its bytes. */
function copy(entry: Entry, ttlMs: number): StoredSession {
  return {
    payload: Buffer.from(entry.payload),
    ttlMs,
    createdAtMs: entry.createdAt,
    lastWriteMs: entry.lastWrite,
    idleTtlMs: entry.idleTtl,
  };
}
