/**
 * The machinery `cache.wrap()` and the response cache share: lookups through the L1 and the
 * store (with Vary and tag validation), single flight in process, the cross-process gate on
 * @keel/lock, writes that never block the caller, markers, invalidation and counters.
 *
 * Nothing here knows HTTP or values: a lookup finds an entry, a fill writes one.
 */
import { type Clock, ExpiringMap, type KeelEvents, type Warnings } from '@keel/core';
import type { Lock, LockManager } from '@keel/lock';
import type { InvalidationBus } from './bus.js';
import {
  type Counters,
  type Found,
  type Gate,
  type Lookup,
  type StoreFailureReason,
  storeFailureReason,
  type VariantOf,
  type WaitGate,
} from './engine-types.js';
import {
  type CachedEntry,
  coversTags,
  decodeMeta,
  type EntryMeta,
  encodeMeta,
  freshness,
  lifetimeOf,
  parseMeta,
} from './entry.js';
import { type Flight, Flights, type TIMED_OUT } from './flights.js';
import type { L1 } from './l1.js';
import type { CacheStore, EntryRef, MissMarker } from './types.js';

export type {
  Counters,
  Found,
  Gate,
  Lookup,
  StoreFailureReason,
  VariantOf,
  WaitGate,
} from './engine-types.js';
export { NO_VARIANT, storeFailureReason } from './engine-types.js';
export { Flight, TIMED_OUT } from './flights.js';

export interface EngineInit {
  store: CacheStore;
  l1: L1 | undefined;
  bus: InvalidationBus | undefined;
  lock: LockManager | undefined;
  /** Bound of every wait on another caller's fill (in process and across processes), ms. */
  waitMs: number;
  /** How long a failed fill's marker stops other processes' waiters, ms. */
  failedFillMs: number;
  /** Longest anything lives in the store (`createCache({ maxTtlMs })`), ms. */
  maxTtlMs: number;
  events: KeelEvents;
  /** The cache's one-time warnings (`warnings` option), shared by its response caches. */
  warnings: Warnings;
  clock: Clock;
}

/** How long a primary's Vary names are remembered, so steady-state lookups take one read. */
const VARY_MEMO_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CacheEngine {
  readonly store: CacheStore;
  readonly l1: L1 | undefined;
  readonly bus: InvalidationBus | undefined;
  readonly waitMs: number;
  readonly maxTtlMs: number;
  readonly events: KeelEvents;
  readonly warnings: Warnings;
  readonly counters: Counters = {
    hits: 0,
    misses: 0,
    stale: 0,
    bypasses: 0,
    errors: 0,
    collapsed: 0,
    l1Hits: 0,
  };
  readonly #lock: LockManager | undefined;
  readonly #failedFillMs: number;
  readonly #clock: Clock;
  readonly #flights: Flights;
  readonly #vary: ExpiringMap<string, string>;

  constructor(init: EngineInit) {
    this.store = init.store;
    this.l1 = init.l1;
    this.bus = init.bus;
    this.#lock = init.lock;
    this.waitMs = init.waitMs;
    this.maxTtlMs = init.maxTtlMs;
    this.#failedFillMs = init.failedFillMs;
    this.events = init.events;
    this.warnings = init.warnings;
    this.#clock = init.clock;
    this.#vary = new ExpiringMap({ clock: init.clock, maxEntries: 10_000 });
    this.#flights = new Flights(init.waitMs);
  }

  /** Snapshot before a store call whose result may go into the L1. */
  get sequence(): number {
    return this.l1?.sequence ?? 0;
  }

  /**
   * Find the variant of primary `id` for this request: the L1 first, then one store read
   * (two when the primary's Vary names were not known yet). Tags the caller knows are read in
   * parallel with the entry; an entry must carry every one of them, at its current version.
   */
  async lookup(id: string, variantOf: VariantOf, tags: readonly string[]): Promise<Lookup> {
    let ref = this.guess(id, variantOf);
    let vary = ref.vary;
    const inL1 = this.peek(ref, tags);
    if (inL1) return inL1;
    const sequence = this.sequence;
    try {
      const versions = tags.length > 0 ? this.store.tagVersions(tags, false) : undefined;
      // Awaited (and a failure reported) only when an entry is found; for a miss or a failed
      // read, the tags' versions change nothing, so their failure is safe to drop.
      versions?.catch(() => {});
      let read = await this.store.read(ref);
      if (read.kind === 'vary') {
        vary = read.vary;
        this.#vary.set(id, vary, this.#clock() + VARY_MEMO_MS);
        ref = { id, vary, variant: variantOf(vary) };
        read = await this.store.read(ref);
        // The Vary changed again in between: treat as a miss of this generation.
        if (read.kind === 'vary') return { kind: 'miss', ref, gen: read.gen, marker: undefined };
      }
      if (read.kind === 'miss') return { kind: 'miss', ref, gen: read.gen, marker: read.marker };
      // The memory store hands back the wire object it parsed once; Redis, the JSON text.
      const meta = read.parsed === undefined ? parseMeta(read.meta) : decodeMeta(read.parsed);
      const valid =
        meta !== undefined &&
        coversTags(meta, tags) &&
        (await this.#tagsCurrent(meta, tags, versions));
      if (!meta || !valid) return { kind: 'miss', ref, gen: read.gen, marker: undefined };
      const entry: CachedEntry = {
        meta,
        body: read.body,
        gen: read.gen,
        ageMs: Math.max(0, read.now - read.createdAt),
      };
      this.l1?.put(ref, entry, sequence, lifetimeOf(meta) - entry.ageMs);
      return { kind: 'found', ref, entry, layer: 'store' };
    } catch (error) {
      this.counters.errors++;
      this.events.emit('cache.error', { operation: 'read' }, { error });
      return { kind: 'error', ref, error };
    }
  }

  /** The variant of `id` under the Vary names this process last learned for it. */
  guess(id: string, variantOf: VariantOf): EntryRef {
    const vary = this.#vary.get(id) ?? '';
    return { id, vary, variant: variantOf(vary) };
  }

  /** The L1's copy of `ref`, when it has one carrying every tag in `tags`. */
  peek(ref: EntryRef, tags: readonly string[]): Found | undefined {
    const entry = this.l1?.get(ref);
    if (entry && coversTags(entry.meta, tags)) return { kind: 'found', ref, entry, layer: 'l1' };
    return undefined;
  }

  /** True when each of the entry's tags still has the version it was written under. */
  async #tagsCurrent(
    meta: EntryMeta,
    known: readonly string[],
    versions: Promise<(string | null)[]> | undefined,
  ): Promise<boolean> {
    const written = meta.tags;
    if (!written) return true;
    const names = Object.keys(written);
    if (names.length === 0) return true;
    const current = new Map<string, string | null>();
    if (versions) {
      const values = await versions;
      known.forEach((tag, i) => {
        current.set(tag, values[i] ?? null);
      });
    }
    // Tags the caller did not name up front cost a second round trip.
    const missing = names.filter((tag) => !current.has(tag));
    if (missing.length > 0) {
      const values = await this.store.tagVersions(missing, false);
      missing.forEach((tag, i) => {
        current.set(tag, values[i] ?? null);
      });
    }
    return names.every((tag) => current.get(tag) === written[tag]);
  }

  /** The flight in progress under `key`, if any (see `Flights.get`). */
  flight<T>(key: string): Flight<T> | undefined {
    return this.#flights.get<T>(key);
  }

  startFlight<T>(key: string, id: string, tags: readonly string[]): Flight<T> {
    return this.#flights.start<T>(key, id, tags);
  }

  /** Forget a flight once its write is done (new callers then read the store). */
  endFlight<T>(key: string, flight: Flight<T>): void {
    this.#flights.end(key, flight);
  }

  /** Await another caller's flight, at most `waitMs`. */
  waitFlight<T>(flight: Flight<T>): Promise<T | typeof TIMED_OUT> {
    return this.#flights.wait(flight);
  }

  /**
   * Across processes, one filler per variant: take a short lock, or (in `wait` mode) wait for
   * the holder's entry, polling the store with growing pauses up to `waitMs`, retrying the
   * lock meanwhile (the holder may have finished without storing). A lock store that does not
   * answer never blocks a fill.
   */
  gate(
    ref: EntryRef,
    variantOf: VariantOf,
    tags: readonly string[],
    mode: 'wait',
  ): Promise<WaitGate>;
  gate(ref: EntryRef, variantOf: VariantOf, tags: readonly string[], mode: 'skip'): Promise<Gate>;
  async gate(
    ref: EntryRef,
    variantOf: VariantOf,
    tags: readonly string[],
    mode: 'wait' | 'skip',
  ): Promise<Gate> {
    const lock = this.#lock;
    if (!lock) return { kind: 'lead', lock: undefined };
    const resource = `cache\n${ref.id}\n${ref.variant}`;
    const take = async (): Promise<Lock | undefined | null> => {
      try {
        return (await lock.tryAcquire(resource)) ?? null;
      } catch {
        // The fill goes on without the lock (a second origin call at worst). Not silent: the
        // lock shares the cache's events and has already emitted `lock.failed` with the error.
        return undefined;
      }
    };
    // Double-checked: another process may have filled it between our read and the lock.
    const recheck = async (held: Lock | undefined): Promise<Gate> => {
      const found = await this.lookup(ref.id, variantOf, tags);
      if (found.kind === 'found' && freshness(found.entry.meta, found.entry.ageMs).fresh) {
        this.release(held);
        return { kind: 'found', found };
      }
      return { kind: 'lead', lock: held };
    };
    let held = await take();
    if (held !== null) return recheck(held);
    if (mode === 'skip') return { kind: 'busy' };
    const deadline = performance.now() + this.waitMs;
    let pause = 10;
    while (performance.now() < deadline) {
      await sleep(Math.min(pause, Math.max(1, deadline - performance.now())));
      pause = Math.min(pause * 1.5, 100);
      const found = await this.lookup(ref.id, variantOf, tags);
      if (found.kind === 'found' && freshness(found.entry.meta, found.entry.ageMs).fresh) {
        return { kind: 'found', found };
      }
      if (found.kind === 'error') return { kind: 'lead', lock: undefined };
      if (found.kind === 'miss' && found.marker === 'uncacheable') return { kind: 'uncacheable' };
      if (found.kind === 'miss' && found.marker === 'failed') return { kind: 'failed' };
      held = await take();
      if (held !== null) return recheck(held);
    }
    return { kind: 'lead', lock: undefined };
  }

  /**
   * Release a fill's lock; a failure only means the TTL frees it, and is not lost: the lock
   * shares the cache's events, and its store call has reported it (`store.call`, with the error).
   */
  release(lock: Lock | undefined): void {
    lock?.release().catch(() => {});
  }

  /**
   * The current versions of `tags`, created where missing: taken before the origin call, so an
   * invalidation during the call makes the new entry invalid at once. `failed` (with why) when
   * the store failed — full, busy, refused…: the fill must then not be stored, since nothing
   * could invalidate it.
   */
  async ensureTags(
    tags: readonly string[],
  ): Promise<{ versions: Record<string, string> } | { failed: StoreFailureReason }> {
    if (tags.length === 0) return { versions: {} };
    try {
      const versions = await this.store.tagVersions(tags, true);
      const result: Record<string, string> = {};
      tags.forEach((tag, i) => {
        result[tag] = versions[i] ?? '';
      });
      return { versions: result };
    } catch (error) {
      this.counters.errors++;
      this.events.emit('cache.error', { operation: 'ensure-tags' }, { error });
      return { failed: storeFailureReason(error) };
    }
  }

  /**
   * Write an entry (and put it in the L1 when no invalidation happened since `sequence`).
   * Never rejects: a failed write is counted and reported, and the caller already answered.
   */
  async write(
    ref: EntryRef,
    observedGen: string,
    meta: EntryMeta,
    body: Buffer,
    sequence: number,
  ): Promise<boolean> {
    try {
      const outcome = await this.store.write(ref, {
        observedGen,
        lifetimeMs: lifetimeOf(meta),
        meta: encodeMeta(meta),
        body,
      });
      if (outcome.kind === 'conflict') {
        this.events.emit('cache.store', { key: ref.id, stored: false, reason: 'conflict' });
        return false;
      }
      if (ref.vary !== '') this.#vary.set(ref.id, ref.vary, this.#clock() + VARY_MEMO_MS);
      this.l1?.put(ref, { meta, body, gen: outcome.gen, ageMs: 0 }, sequence, lifetimeOf(meta));
      this.events.emit('cache.store', { key: ref.id, stored: true });
      return true;
    } catch (error) {
      this.counters.errors++;
      this.events.emit('cache.error', { operation: 'write' }, { error });
      this.events.emit('cache.store', { key: ref.id, stored: false, reason: 'error' });
      return false;
    }
  }

  /** Leave a hit-for-miss or failed-fill marker; failures are reported, never thrown. */
  async mark(ref: EntryRef, marker: MissMarker, ttlMs?: number): Promise<void> {
    try {
      await this.store.mark(ref, marker, ttlMs ?? this.#failedFillMs);
    } catch (error) {
      this.counters.errors++;
      this.events.emit('cache.error', { operation: 'mark' }, { error });
    }
  }

  /** Remember a primary's Vary names (learned from a response). */
  rememberVary(id: string, vary: string): void {
    // No Vary is what a lookup assumes anyway: forget, rather than keep a note per URL.
    if (vary === '') this.#vary.delete(id);
    else this.#vary.set(id, vary, this.#clock() + VARY_MEMO_MS);
  }

  /**
   * Invalidate primaries and tags: in the store (so no reader anywhere matches them once this
   * resolves), in this process's L1 and flights at once, then in the other processes' L1s via
   * the bus. Rejects when the store did not confirm.
   */
  async invalidate(ids: readonly string[], tags: readonly string[], tagHashes: readonly string[]) {
    // New callers must not join a fill that started before this invalidation.
    this.#flights.drop(ids, tags);
    this.l1?.invalidate(ids, tagHashes);
    await Promise.all([this.store.removeTags(tags), ...ids.map((id) => this.store.remove(id))]);
    // A second local pass: an L1 put racing the store calls above is dropped by the sequence.
    this.l1?.invalidate(ids, tagHashes);
    await this.bus?.publish({ k: [...ids], t: [...tagHashes] });
    this.events.emit('cache.invalidate', { tags: tags.length, keys: ids.length });
  }
}
