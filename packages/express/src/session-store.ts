/**
 * `SessionStore`: an express-session store — a drop-in replacement for connect-redis (same
 * option names, same `sess:<id>` JSON format, callbacks and promises) built on @keel/session,
 * which adds what connect-redis lacks: no lost updates, no resurrection after logout, idle and
 * absolute lifetimes, a per-user index, Cluster-correct bulk calls, codecs and deadlines.
 *
 * It extends express-session's own `Store` (an optional peer dependency, loaded on first use so
 * that importing @keel/express never requires it).
 *
 * How a request's loaded snapshot is tracked: `get()` hands express-session a fresh object and
 * remembers its snapshot in a WeakMap keyed by that object; express-session then builds
 * `req.session` from it through `createSession()`, which this class overrides to move the
 * snapshot onto the new `Session` object (another WeakMap). `set()`/`touch()` receive that
 * same `Session`, find what this request loaded, and write only the difference. Both maps are
 * weak: nothing outlives the request's session object.
 *
 * express-session touches every unchanged session it loaded, at the end of the request. `get()`
 * therefore loads with `slide`: the read script extends the idle TTL when it is due, in the
 * read's round trip, and the `touch()` that follows is answered without calling Redis unless
 * the request ran long (see the repository's `LoadOptions.slide`).
 */
import { createRequire } from 'node:module';
import { optionNames } from '@keel/core';
import {
  createFrameworkRepository,
  DEFAULT_SESSION_PREFIX,
  type FrameworkStoreOptions,
  frameworkStoreValidator,
  fromSessionData,
  RequestSnapshots,
  SessionPeerMissingError,
  type SessionRepository,
  type SessionSerializer,
  toSessionData,
  type UserSession,
} from '@keel/session';
import type { Request } from 'express';
import type { SessionData, Store } from 'express-session';

type Callback<T = unknown> = (error?: unknown, value?: T) => void;

export interface SessionStoreOptions extends FrameworkStoreOptions<SessionData> {
  /**
   * Session TTL in **seconds** when the cookie has no `expires` (connect-redis's meaning), or a
   * function of the session returning seconds (then it always wins).
   * @default 86_400 (one day)
   */
  ttl?: number | ((session: SessionData) => number);
  /** Store sessions without any expiry (connect-redis's meaning). @default false */
  disableTTL?: boolean;
  /**
   * Make `touch()` a no-op (connect-redis's meaning); `get()` then does not slide the idle TTL
   * either (by default the read script does express-session's end-of-request touch when due).
   * @default false
   */
  disableTouch?: boolean;
  /** Absolute lifetime from creation in **seconds**: nothing extends a session past it. @default none */
  absoluteTtl?: number;
  /**
   * Skip touches (and the read's slide) while the TTL is within this many **seconds** of full.
   * @default 0 (the TTL is kept within 1 s of full: see `SLIDE_SLACK_MS` in @keel/session)
   */
  touchAfter?: number;
}

// The shared names come from @keel/session; the store's own are checked against the rest of
// its options, so together they name every option exactly once.
const OWN_OPTIONS = optionNames<
  Omit<SessionStoreOptions, keyof FrameworkStoreOptions<SessionData>>
>({ ttl: true, disableTTL: true, disableTouch: true, absoluteTtl: true, touchAfter: true });

type StoreClass = abstract new () => Store;

/** express-session's Store, or a stand-in whose construction explains what to install. */
function loadStore(): StoreClass {
  try {
    const { Store: Base } = createRequire(import.meta.url)('express-session') as {
      Store: StoreClass;
    };
    return Base;
  } catch (error) {
    return class MissingExpressSession {
      constructor() {
        throw new SessionPeerMissingError('express-session', error);
      }
    } as unknown as StoreClass;
  }
}

/** Call a node-style callback, or hand back the promise (connect-redis does both). */
function withCallback<T>(
  promise: Promise<T>,
  callback: Callback<T> | undefined,
): Promise<T | undefined> {
  if (!callback) return promise;
  return promise.then(
    (value) => {
      callback(null, value);
      return value;
    },
    (error: unknown) => {
      callback(error);
      return undefined;
    },
  );
}

export class SessionStore extends loadStore() {
  /** The repository behind the store: bulk calls, user index, everything Keel adds. */
  readonly repository: SessionRepository;
  // connect-redis's option properties, readable as on its RedisStore (code that reads them
  // back keeps working after the one-line switch), with its defaults.
  /** The Redis client given, or undefined for memory. */
  readonly client: SessionStoreOptions['client'];
  readonly prefix: string;
  readonly ttl: number | ((session: SessionData) => number);
  readonly scanCount: number;
  readonly serializer: SessionSerializer;
  readonly disableTTL: boolean;
  readonly disableTouch: boolean;
  readonly #ttl: number | ((session: SessionData) => number);
  readonly #disableTTL: boolean;
  readonly #disableTouch: boolean;
  /** Touch in `get()`'s round trip (express-session touches every unchanged session it loaded). */
  readonly #slide: boolean;
  /** What each request loaded: `get()`'s data until `createSession()` claims it for `req.session`. */
  readonly #snapshots: RequestSnapshots;

  constructor(options: SessionStoreOptions = {}) {
    super();
    const v = frameworkStoreValidator('SessionStore', options, OWN_OPTIONS);
    const { ttl = 86_400, disableTTL = false, disableTouch = false } = options;
    if (!(typeof ttl === 'function' || (Number.isFinite(ttl) && ttl > 0))) {
      throw v.fail('ttl', ttl, 'seconds > 0 or a function of the session returning seconds');
    }
    this.#ttl = ttl;
    this.#disableTTL = disableTTL;
    this.#disableTouch = disableTouch;
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_SESSION_PREFIX;
    this.ttl = ttl;
    this.scanCount = options.scanCount ?? 100;
    this.serializer = options.serializer ?? JSON;
    this.disableTTL = disableTTL;
    this.disableTouch = disableTouch;
    this.#slide = !disableTouch && !disableTTL;
    const seconds = (value: number | undefined) =>
      value === undefined ? undefined : Math.round(value * 1000);
    this.repository = createFrameworkRepository(options, {
      component: 'SessionStore',
      // A stored session express-session would throw on (no cookie object…) is no session.
      shape: 'express-session',
      absoluteTtlMs: seconds(options.absoluteTtl),
      touchAfterMs: seconds(options.touchAfter),
    });
    this.#snapshots = new RequestSnapshots(this.repository);
  }

  get(
    sid: string,
    callback?: Callback<SessionData | null>,
  ): Promise<SessionData | null | undefined> {
    return withCallback(
      this.#snapshots
        .load(sid, { slide: this.#slide })
        .then((data) => data && fromSessionData<SessionData>(data)),
      callback,
    );
  }

  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return withCallback(this.#save(sid, session, false), callback);
  }

  override touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return withCallback(this.#touch(sid, session), callback);
  }

  destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return withCallback(this.repository.destroy(sid), callback);
  }

  /** Every session, as connect-redis returns them: an array of sessions with their `id`. */
  override all(callback?: Callback<SessionData[]>): Promise<SessionData[] | undefined> {
    return withCallback(
      this.repository
        .all()
        .then((all) => all.map(({ id, data }) => fromSessionData<SessionData>({ ...data, id }))),
      callback,
    );
  }

  ids(callback?: Callback<string[]>): Promise<string[] | undefined> {
    return withCallback(this.repository.ids(), callback);
  }

  override length(callback?: Callback<number>): Promise<number | undefined> {
    return withCallback(this.repository.length(), callback);
  }

  override clear(callback?: Callback<void>): Promise<void> {
    return withCallback(
      this.repository.clear().then(() => undefined),
      callback,
    );
  }

  /** Session ids page by page (SCAN on every master, or the index): for very large stores. */
  idPages(): AsyncIterable<string[]> {
    return this.repository.idPages();
  }

  /** The live sessions of a user (needs the `userId` option), most recently active first. */
  listForUser(userId: string): Promise<UserSession[]> {
    return this.repository.listForUser(userId);
  }

  /** Log a user out everywhere (but `exceptId`); returns how many sessions ended. */
  destroyAllForUser(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    return this.repository.destroyAllForUser(userId, options);
  }

  /** express-session builds `req.session` here: carry the snapshot over to it. */
  override createSession(req: Request, session: SessionData): ReturnType<Store['createSession']> {
    const created = super.createSession(req, session);
    this.#snapshots.claim(session, created);
    return created;
  }

  async #save(sid: string, session: SessionData, touch: boolean): Promise<void> {
    await this.#snapshots.save(sid, toSessionData(session), session, {
      ttlMs: this.#ttlMs(session),
      touch,
    });
  }

  async #touch(sid: string, session: SessionData): Promise<void> {
    if (this.#disableTouch || this.#disableTTL) return;
    const snapshot = this.#snapshots.snapshotOf(session);
    // "Remember me": a changed cookie lifetime must be stored, or the next request reverts it.
    if (
      snapshot &&
      cookieLifetime(snapshot.fields.get('cookie')) !== session.cookie?.originalMaxAge
    ) {
      return this.#save(sid, session, false);
    }
    await this.repository.touch(sid, { ttlMs: this.#ttlMs(session), snapshot });
  }

  /** TTL in ms as connect-redis computes it (cookie expiry, else `ttl`); -1 = none. */
  #ttlMs(session: SessionData): number {
    if (this.#disableTTL) return -1;
    if (typeof this.#ttl === 'function') return Math.round(this.#ttl(session) * 1000);
    const expires = session?.cookie?.expires;
    if (expires) return new Date(expires).getTime() - Date.now();
    return Math.round(this.#ttl * 1000);
  }
}

function cookieLifetime(json: string | undefined): unknown {
  if (json === undefined) return undefined;
  try {
    return (JSON.parse(json) as { originalMaxAge?: unknown }).originalMaxAge ?? null;
  } catch {
    return undefined;
  }
}
