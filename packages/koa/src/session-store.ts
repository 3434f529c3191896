/**
 * `SessionStore`: a koa-session external store on @keel/session — the same repository as the
 * express-session store, so the same guarantees: field merges instead of lost updates,
 * tombstones against resurrection, idle/absolute lifetimes, the per-user index, codecs,
 * deadlines. Pass an instance as koa-session's `store` option.
 *
 * koa-session hands `ctx` to both `get` and `set`, so what a request loaded is remembered in a
 * WeakMap keyed by `ctx` (gone with the request). `set(…, { changed: false })` — a rolling or
 * renewing save of an unchanged session — becomes a cheap touch: only koa-session's `_expire` /
 * `_maxAge` fields are written, and the TTL is never shortened.
 */
import { type KeelEventListener, type KeelEvents, optionNames, validatorFor } from '@keel/core';
import {
  type CompressionOptions,
  type ConflictPolicy,
  createSessionRepository,
  type EncryptionOptions,
  repositoryOptionsOf,
  type SessionData,
  type SessionRepository,
  type SessionSerializer,
  type SessionSnapshot,
  type SessionStorageChoice,
  STORAGE_CHOICE_OPTIONS,
  type UserSession,
} from '@keel/session';

export interface KoaSessionStoreOptions extends SessionStorageChoice {
  /** TTL of sessions whose koa-session `maxAge` is `'session'` (a browser-session cookie), ms. @default 86_400_000 */
  sessionTtlMs?: number;
  /** Absolute lifetime from creation, ms: nothing extends a session past it. @default none */
  absoluteTtlMs?: number;
  /** Skip rolling touches while the TTL is within this of full, ms. @default 0 (always) */
  touchAfterMs?: number;
  /** How long a destroyed session id refuses writes, ms. @default 60_000 */
  tombstoneTtlMs?: number;
  /** `merge` (changed fields only) or `last-write-wins`. @default 'merge' */
  conflict?: ConflictPolicy;
  /** The user a session belongs to, for `listForUser()` and `destroyAllForUser()`. */
  userId?(session: SessionData): string | undefined;
  /** Keep a session index so `length()`/`ids()` cost O(sessions). @default false */
  index?: boolean;
  /** Payload serializer. @default JSON */
  serializer?: SessionSerializer;
  /** Deflate payloads above a size (`true` = 1 KiB). @default false */
  compression?: boolean | CompressionOptions;
  /** AES-256-GCM at rest with key rotation. @default none */
  encryption?: EncryptionOptions;
  /** SCAN `COUNT` and bulk page size. @default 100 */
  scanCount?: number;
  /** Receives `session.*` and `store.*` events. */
  events?: KeelEvents | KeelEventListener;
}

/** What koa-session passes as the last argument of `get`/`set`/`destroy`. */
interface StoreContext {
  ctx?: object;
  rolling?: boolean;
  changed?: boolean;
}

// The storage choice's names come from @keel/session; the store's own are checked against the
// rest of its options, so together they name every option exactly once.
const KNOWN = [
  ...STORAGE_CHOICE_OPTIONS,
  ...optionNames<Omit<KoaSessionStoreOptions, keyof SessionStorageChoice>>({
    sessionTtlMs: true,
    absoluteTtlMs: true,
    touchAfterMs: true,
    tombstoneTtlMs: true,
    conflict: true,
    userId: true,
    index: true,
    serializer: true,
    compression: true,
    encryption: true,
    scanCount: true,
    events: true,
  }),
];

export class SessionStore {
  /** The repository behind the store: bulk calls, user index, everything Keel adds. */
  readonly repository: SessionRepository;
  readonly sessionTtlMs: number;
  readonly #snapshots = new WeakMap<object, SessionSnapshot>();

  constructor(options: KoaSessionStoreOptions = {}) {
    const v = validatorFor('koaSessionStore');
    v.knownOptions(options, KNOWN);
    this.sessionTtlMs = v.positiveInteger('sessionTtlMs', options.sessionTtlMs, 86_400_000, 'ms');
    const { sessionTtlMs: _, ...rest } = options;
    // A stored session koa-session would throw on (a `toJSON` field, a bad `_maxAge`…) is no session.
    this.repository = createSessionRepository(
      options,
      { ...repositoryOptionsOf(rest), shape: 'koa-session' },
      'koaSessionStore',
    );
  }

  /** koa-session: load `key`; null when absent, expired or undecodable. */
  async get(
    key: string,
    _maxAge?: unknown,
    context: StoreContext = {},
  ): Promise<SessionData | null> {
    const loaded = await this.repository.load(key);
    if (!loaded) return null;
    if (context.ctx) this.#snapshots.set(context.ctx, loaded.snapshot);
    return loaded.data;
  }

  /** koa-session: save; `maxAge` is ms (or `'session'`), `changed: false` is a touch. */
  async set(
    key: string,
    session: SessionData,
    maxAge: unknown,
    context: StoreContext = {},
  ): Promise<void> {
    const ttlMs = typeof maxAge === 'number' ? maxAge : this.sessionTtlMs;
    const { snapshot } = await this.repository.save(key, session, {
      ttlMs,
      snapshot: context.ctx ? this.#snapshots.get(context.ctx) : undefined,
      touch: context.changed === false,
    });
    if (context.ctx && snapshot) this.#snapshots.set(context.ctx, snapshot);
  }

  /** koa-session: destroy `key` (and tombstone it against requests still running). */
  async destroy(key: string, _context?: StoreContext): Promise<void> {
    await this.repository.destroy(key);
  }

  /** The live sessions of a user (needs the `userId` option), most recently active first. */
  listForUser(userId: string): Promise<UserSession[]> {
    return this.repository.listForUser(userId);
  }

  /** Log a user out everywhere (but `exceptId`); returns how many sessions ended. */
  destroyAllForUser(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    return this.repository.destroyAllForUser(userId, options);
  }
}
