/**
 * The Redis session storage. Sessions stay where connect-redis keeps them (`<prefix><id>`, a
 * JSON string), Keel's metadata and tombstones sit beside them on the same Cluster slot (see
 * keys.ts), and every decision is one script: read (sliding the idle TTL when asked), save
 * (whole or compare-and-set), merge, touch, destroy.
 *
 * Calls go through core's store caller: a deadline on each, a wait for a connecting client
 * within it, a circuit breaker, and one classification of every Redis error — a full memory
 * (`OOM`), another client's slow script (`BUSY`), a dead connection are `StoreUnavailableError`,
 * a refused command (`NOPERM`) `StoreMisconfiguredError`, foreign data under a session key
 * (`WRONGTYPE`) `StoreDataError`; all are 503s that reach express-session / koa-session as
 * errors, never a write that silently did not happen. Every script carries the call's
 * deadline on the server clock and does nothing if it starts after the caller gave up.
 *
 * The plumbing comes from core's `setupRedisStore` (see redis-options.ts for what sessions
 * add: connect-redis's key prefix, and their own key family in data errors).
 *
 * Bulk calls never send a cross-slot command: ids come from SCAN on every master of a Cluster
 * (the MATCH pattern carries the ioredis `keyPrefix`, which ioredis does not add to patterns),
 * reads and deletes go one session (one slot) at a time, pipelined by ioredis. The optional
 * global index is a sorted set scored by expiry; the user index is a set per user.
 */
import {
  codes as coreCodes,
  isKeelError,
  type KeelRedisClient,
  type Keyspace,
  type ScriptRunner,
  type StoreAttempt,
  type StoreCaller,
  StoreDataError,
} from '@keel/core';
import { isValidSessionId, sessionKeys } from '../keys.js';
import {
  indexCount,
  sessionDestroy,
  sessionMerge,
  sessionRead,
  sessionSave,
  sessionTouch,
  userIndexAdd,
} from '../scripts/generated.js';
import { toDestroyResult, toReadResult, toTouchResult, toWriteResult } from '../status.js';
import type {
  DestroyResult,
  MergeRequest,
  ReadResult,
  SaveRequest,
  SessionStorage,
  SlideRequest,
  StoredSession,
  TouchResult,
  WriteResult,
} from '../types.js';
import {
  parseRedisSessionOptions,
  type RedisSessionConfig,
  type RedisSessionStorageOptions,
} from './redis-options.js';

export type { RedisSessionStorageOptions } from './redis-options.js';

/** Ids per page read from the global index (ZRANGE by rank). */
const INDEX_PAGE = 5_000;

/** Redis storage for sessions, in connect-redis's key format. */
export function createRedisSessionStorage(options: RedisSessionStorageOptions): SessionStorage {
  return new RedisSessionStorage(parseRedisSessionOptions(options));
}

/**
 * A late run of a call Keel gave up on: scripts never run late (the guard), and no script
 * needs an `undo` — a script that started in time but answered late did what its caller
 * asked within the time it allowed, and undoing it would be worse: a save whose 503 came
 * after express-session had already sent the cookie would log the user out. Plain commands
 * are unguarded; each says below why a late run does no harm.
 */
class RedisSessionStorage implements SessionStorage {
  readonly kind = 'redis' as const;
  readonly prefix: string;
  readonly #client: KeelRedisClient;
  readonly #call: StoreCaller;
  readonly #scripts: ScriptRunner;
  readonly #keyPrefix: string;
  readonly #siblingPrefix: string;
  readonly #keyspace: Keyspace;
  readonly #indexKey: string;
  readonly #scanPattern: string;

  constructor(config: RedisSessionConfig) {
    this.prefix = config.prefix;
    this.#client = config.client;
    this.#call = config.call;
    this.#scripts = config.scripts;
    this.#keyPrefix = config.keyPrefix;
    this.#siblingPrefix = config.siblingPrefix;
    this.#keyspace = config.keyspace;
    this.#indexKey = config.keyspace.key(`${config.keyPrefix}${config.prefix}`, 'index');
    this.#scanPattern = `${(config.keyPrefix + config.prefix).replace(/[*?[\]\\]/g, '\\$&')}*`;
  }

  read = async (id: string): Promise<StoredSession | undefined> => {
    const result = toReadResult(sessionRead.name, await this.#readScript(id, -1, 0));
    return result.status === 'ok' ? result.session : undefined;
  };

  async readAndSlide(id: string, slide: SlideRequest): Promise<ReadResult> {
    return toReadResult(
      sessionRead.name,
      await this.#readScript(id, slide.afterMs, slide.absoluteTtlMs),
    );
  }

  readMany(ids: readonly string[]): Promise<(StoredSession | undefined)[]> {
    return Promise.all(ids.map(this.read));
  }

  async save(id: string, request: SaveRequest): Promise<WriteResult> {
    const args = [
      request.payload,
      request.ttlMs,
      request.absoluteTtlMs,
      request.baseDigest ?? '',
      request.createdAtMs,
      request.userHash,
      request.touch ? '1' : '0',
    ];
    const reply = await this.#call('save', (attempt) =>
      this.#scripts.runBuffer(sessionSave, this.#triple(id), args, attempt),
    );
    return toWriteResult(sessionSave.name, reply);
  }

  async merge(id: string, request: MergeRequest): Promise<WriteResult> {
    const args: (string | number)[] = [
      request.ttlMs,
      request.absoluteTtlMs,
      request.userHash,
      request.touch ? '1' : '0',
      request.changed.length,
    ];
    for (const [name, text] of request.changed) args.push(name, text);
    args.push(request.removed.length, ...request.removed);
    const reply = await this.#call('merge', (attempt) =>
      this.#scripts.run(sessionMerge, this.#triple(id), args, attempt),
    );
    return toWriteResult(sessionMerge.name, reply);
  }

  async touch(id: string, ttlMs: number, absoluteTtlMs: number): Promise<TouchResult> {
    const k = this.#keys(id);
    const reply = await this.#call('touch', (attempt) =>
      this.#scripts.run(sessionTouch, [k.session, k.meta], [ttlMs, absoluteTtlMs], attempt),
    );
    return toTouchResult(sessionTouch.name, reply);
  }

  async destroy(id: string, tombstoneTtlMs: number, userHash?: string): Promise<DestroyResult> {
    const reply = await this.#call('destroy', (attempt) =>
      this.#scripts.run(
        sessionDestroy,
        this.#triple(id),
        [tombstoneTtlMs, userHash ?? ''],
        attempt,
      ),
    );
    return toDestroyResult(sessionDestroy.name, reply);
  }

  scanIds(pageSize: number): AsyncIterable<string[]> {
    return this.#scanPages(pageSize);
  }

  async clear(pageSize: number): Promise<number> {
    let deleted = 0;
    for await (const ids of this.#scanPages(pageSize)) {
      // A session and its metadata share a slot: one two-key UNLINK each, never cross-slot.
      // Unguarded: a late UNLINK deletes sessions that clear() was asked to delete.
      await this.#call('clear', () =>
        Promise.all(
          ids.map((id) => this.#client.call('UNLINK', this.#keys(id).session, this.#keys(id).meta)),
        ),
      );
      deleted += ids.length;
    }
    await this.indexClear();
    return deleted;
  }

  async userIndexAdd(userHash: string, id: string, keepMs: number): Promise<number> {
    const reply = (await this.#indexCall('user-index', (attempt) =>
      this.#scripts.run(userIndexAdd, [this.#userKey(userHash)], [id, keepMs], attempt),
    )) as [number, number];
    return Number(reply[1]);
  }

  userIndexIds(userHash: string): Promise<string[]> {
    return this.#indexCall('user-index', () =>
      this.#client.call('SMEMBERS', this.#userKey(userHash)),
    ) as Promise<string[]>;
  }

  async userIndexRemove(userHash: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    // Unguarded: the ids removed are of ended sessions (destroyed, expired or another user's),
    // which never come back under the same id; a late SREM removes nothing still live.
    await this.#indexCall('user-index', () =>
      this.#client.call('SREM', this.#userKey(userHash), ...ids),
    );
  }

  async indexAdd(id: string, expiresAtMs: number): Promise<void> {
    // Unguarded: a late ZADD may list a session destroyed meanwhile; its score is its expiry,
    // so the next length()/ids() prunes it once that passes, and entries() skips it (no data).
    await this.#indexCall('index', () =>
      this.#client.call('ZADD', this.#indexKey, expiresAtMs < 0 ? '+inf' : expiresAtMs, id),
    );
  }

  async indexRemove(id: string): Promise<void> {
    // Unguarded: removes the id of a session that ended (destroyed and tombstoned, or past its
    // absolute lifetime), which no later write brings back.
    await this.#indexCall('index', () => this.#client.call('ZREM', this.#indexKey, id));
  }

  async indexCount(): Promise<number> {
    const reply = (await this.#indexCall('index', (attempt) =>
      this.#scripts.run(indexCount, [this.#indexKey], [], attempt),
    )) as [number, number];
    return Number(reply[1]);
  }

  async *indexIds(pageSize: number): AsyncIterable<string[]> {
    // Prune expired members first, so the pages hold live sessions only; then page by rank
    // (O(log n + page) each). Ids added or removed meanwhile may be missed or repeated once.
    await this.indexCount();
    const page = Math.max(pageSize, INDEX_PAGE);
    for (let start = 0; ; start += page) {
      const ids = (await this.#indexCall('index', () =>
        this.#client.call('ZRANGE', this.#indexKey, start, start + page - 1),
      )) as string[];
      if (ids.length > 0) yield ids;
      if (ids.length < page) return;
    }
  }

  async indexClear(): Promise<void> {
    // Unguarded: a late UNLINK also drops ids written after clear() gave up; they return to
    // the index with their session's next write. Counts may lag until then, sessions do not.
    await this.#indexCall('index', () => this.#client.call('UNLINK', this.#indexKey));
  }

  #keys(id: string) {
    return sessionKeys(this.prefix, this.#keyPrefix, id, this.#siblingPrefix);
  }

  #triple(id: string): string[] {
    const k = this.#keys(id);
    return [k.session, k.meta, k.tomb];
  }

  #userKey(userHash: string): string {
    return this.#keyspace.key(userHash, 'user');
  }

  #readScript(id: string, afterMs: number, absoluteTtlMs: number): Promise<unknown> {
    const k = this.#keys(id);
    return this.#call('read', (attempt) =>
      this.#scripts.runBuffer(sessionRead, [k.session, k.meta], [afterMs, absoluteTtlMs], attempt),
    );
  }

  /** SCAN on every master; each page is one store call (deadline, breaker, classification). */
  async *#scanPages(pageSize: number): AsyncIterable<string[]> {
    const strip = this.#keyPrefix.length + this.prefix.length;
    const pages = this.#client.scan(this.#scanPattern, pageSize)[Symbol.asyncIterator]();
    for (;;) {
      const page = await this.#call('scan', () => pages.next());
      if (page.done) return;
      const ids = page.value.map((key) => key.slice(strip)).filter(isValidSessionId);
      if (ids.length > 0) yield ids;
    }
  }

  /**
   * A call on Keel's index keys (`<indexPrefix>sess:{…}`): the shared caller names the session
   * keys' family in data errors, so foreign data here is renamed to the index family.
   */
  #indexCall<T>(operation: string, fn: (attempt: StoreAttempt) => Promise<T>): Promise<T> {
    return this.#call(operation, fn).catch((error: unknown) => {
      if (!isKeelError(error) || error.code !== coreCodes.STORE_DATA) throw error;
      const reply = error.cause instanceof Error ? error.cause.message : error.message;
      throw new StoreDataError(operation, this.#keyspace.prefix, reply, error.cause);
    });
  }
}
