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
import { optionNames } from '@keel/core';
import {
  createFrameworkRepository,
  type FrameworkStoreOptions,
  frameworkStoreValidator,
  RequestSnapshots,
  type SessionData,
  type SessionRepository,
  type UserSession,
} from '@keel/session';

export interface KoaSessionStoreOptions extends FrameworkStoreOptions<SessionData> {
  /** TTL of sessions whose koa-session `maxAge` is `'session'` (a browser-session cookie), ms. @default 86_400_000 */
  sessionTtlMs?: number;
  /** Absolute lifetime from creation, ms: nothing extends a session past it. @default none */
  absoluteTtlMs?: number;
  /** Skip rolling touches while the TTL is within this of full, ms. @default 0 (always) */
  touchAfterMs?: number;
}

/** What koa-session passes as the last argument of `get`/`set`/`destroy`. */
interface StoreContext {
  ctx?: object;
  rolling?: boolean;
  changed?: boolean;
}

// The shared names come from @keel/session; the store's own are checked against the rest of
// its options, so together they name every option exactly once.
const OWN_OPTIONS = optionNames<
  Omit<KoaSessionStoreOptions, keyof FrameworkStoreOptions<SessionData>>
>({ sessionTtlMs: true, absoluteTtlMs: true, touchAfterMs: true });

export class SessionStore {
  /** The repository behind the store: bulk calls, user index, everything Keel adds. */
  readonly repository: SessionRepository;
  readonly sessionTtlMs: number;
  /** What each request loaded, by koa-session's `ctx`. */
  readonly #snapshots: RequestSnapshots;

  constructor(options: KoaSessionStoreOptions = {}) {
    const v = frameworkStoreValidator('koaSessionStore', options, OWN_OPTIONS);
    this.sessionTtlMs = v.positiveInteger('sessionTtlMs', options.sessionTtlMs, 86_400_000, 'ms');
    this.repository = createFrameworkRepository(options, {
      component: 'koaSessionStore',
      // A stored session koa-session would throw on (a `toJSON` field, a bad `_maxAge`…) is no session.
      shape: 'koa-session',
      absoluteTtlMs: options.absoluteTtlMs,
      touchAfterMs: options.touchAfterMs,
    });
    this.#snapshots = new RequestSnapshots(this.repository);
  }

  /** koa-session: load `key`; null when absent, expired or undecodable. */
  async get(
    key: string,
    _maxAge?: unknown,
    context: StoreContext = {},
  ): Promise<SessionData | null> {
    const data = await this.#snapshots.load(key);
    if (data && context.ctx) this.#snapshots.claim(data, context.ctx);
    return data;
  }

  /** koa-session: save; `maxAge` is ms (or `'session'`), `changed: false` is a touch. */
  async set(
    key: string,
    session: SessionData,
    maxAge: unknown,
    context: StoreContext = {},
  ): Promise<void> {
    await this.#snapshots.save(key, session, context.ctx, {
      ttlMs: typeof maxAge === 'number' ? maxAge : this.sessionTtlMs,
      touch: context.changed === false,
    });
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
