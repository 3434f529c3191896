/**
 * What each request loaded, for the framework session stores: a save must write only what its
 * request changed (policy `merge`), so the store remembers the snapshot of every load until the
 * same request saves. The framework hands the store back an object that lives as long as the
 * request — express-session's `req.session`, koa-session's `ctx` — and snapshots are kept in
 * WeakMaps keyed by it: nothing outlives the request.
 *
 * A load's snapshot first waits on the data object the load returned, until the store claims it
 * for the request's object (express-session builds `req.session` from that data; koa-session
 * passes `ctx` beside it).
 */
import type { SessionRepository } from './repository.js';
import type { LoadOptions, SaveOptions, SessionData, SessionSnapshot } from './repository-types.js';

export class RequestSnapshots {
  readonly #repository: SessionRepository;
  /** Data objects `load()` returned → their snapshot, until `claim()` moves it. */
  readonly #loaded = new WeakMap<object, SessionSnapshot>();
  /** Request objects → what their request loaded (or last wrote). */
  readonly #requests = new WeakMap<object, SessionSnapshot>();

  constructor(repository: SessionRepository) {
    this.#repository = repository;
  }

  /** Load session `id`; null when absent, expired or undecodable. */
  async load(id: string, options?: LoadOptions): Promise<SessionData | null> {
    const loaded = await this.#repository.load(id, options);
    if (!loaded) return null;
    this.#loaded.set(loaded.data, loaded.snapshot);
    return loaded.data;
  }

  /** Hand the snapshot of `data` (returned by `load()`) to the request behind `request`. */
  claim(data: object, request: object): void {
    const snapshot = this.#loaded.get(data);
    if (!snapshot) return;
    this.#loaded.delete(data);
    this.#requests.set(request, snapshot);
  }

  /** What the request behind `request` loaded or last wrote. */
  snapshotOf(request: object): SessionSnapshot | undefined {
    return this.#requests.get(request);
  }

  /**
   * Save session `id` for the request behind `request` (none: a save that diffs against
   * nothing), and remember what it wrote for the request's next save.
   */
  async save(
    id: string,
    data: SessionData,
    request: object | undefined,
    options: Omit<SaveOptions, 'snapshot'>,
  ): Promise<void> {
    const { snapshot } = await this.#repository.save(id, data, {
      ...options,
      snapshot: request && this.#requests.get(request),
    });
    if (request && snapshot) this.#requests.set(request, snapshot);
  }
}
